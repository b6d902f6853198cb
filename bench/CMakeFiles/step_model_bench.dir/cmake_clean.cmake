file(REMOVE_RECURSE
  "CMakeFiles/step_model_bench.dir/step_model_bench.cc.o"
  "CMakeFiles/step_model_bench.dir/step_model_bench.cc.o.d"
  "step_model_bench"
  "step_model_bench.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/step_model_bench.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()

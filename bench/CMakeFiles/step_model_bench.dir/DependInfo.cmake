
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/bench/step_model_bench.cc" "bench/CMakeFiles/step_model_bench.dir/step_model_bench.cc.o" "gcc" "bench/CMakeFiles/step_model_bench.dir/step_model_bench.cc.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/CMakeFiles/aif_config.dir/DependInfo.cmake"
  "/work/main/CMakeFiles/aif_train.dir/DependInfo.cmake"
  "/work/main/CMakeFiles/aif_perf.dir/DependInfo.cmake"
  "/work/main/CMakeFiles/aif_catalog.dir/DependInfo.cmake"
  "/work/main/CMakeFiles/aif_core.dir/DependInfo.cmake"
  "/work/main/CMakeFiles/aif_builtin_data.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")

# aif_embed_data(TARGET NAMESPACE ns FILES f...)
# Compiles each data file into the library as a std::string_view named after the file
# (data/catalog/models.yaml -> catalog_models_yaml) so the binary needs no data path at run time.
function(aif_embed_data target)
  cmake_parse_arguments(ARG "" "NAMESPACE" "FILES" ${ARGN})
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${target}.cc)
  set(hdr ${CMAKE_CURRENT_BINARY_DIR}/${target}_gen/aifactory/builtin_data.h)
  string(REPLACE ";" "," files_joined "${ARG_FILES}")
  add_custom_command(
    OUTPUT ${out} ${hdr}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DHDR=${hdr} -DNS=${ARG_NAMESPACE}
            -DROOT=${PROJECT_SOURCE_DIR} -DFILES=${files_joined}
            -P ${PROJECT_SOURCE_DIR}/cmake/EmbedDataScript.cmake
    DEPENDS ${PROJECT_SOURCE_DIR}/cmake/EmbedDataScript.cmake
            ${ARG_FILES}
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
    COMMENT "Embedding built-in data"
    VERBATIM)
  add_library(${target} STATIC ${out})
  target_include_directories(${target} PUBLIC ${CMAKE_CURRENT_BINARY_DIR}/${target}_gen)
endfunction()

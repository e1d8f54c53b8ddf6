# WeftPluginConfig.cmake: build weft plugins outside weft's tree.
#
#   find_package(WeftPlugin REQUIRED)      # -DCMAKE_PREFIX_PATH=<where weft is installed>
#   weft_plugin(NAME SOURCES...)           # -> NAME.so, installed into WEFT_PLUGIN_INSTALL_DIR
#
# The plugin sees only <weft/plugin.h>, exports only weft_plugin_init (hidden visibility),
# and is linked with -z defs so an undefined symbol fails the build, not the dlopen.
get_filename_component(_weft_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
set(WEFT_PLUGIN_INCLUDE_DIR "${_weft_prefix}/include")
set(WEFT_PLUGIN_INSTALL_DIR "${_weft_prefix}/lib/weft/plugins")
if(NOT EXISTS "${WEFT_PLUGIN_INCLUDE_DIR}/weft/plugin.h")
  set(WeftPlugin_FOUND FALSE)
  set(WeftPlugin_NOT_FOUND_MESSAGE "no weft/plugin.h under ${WEFT_PLUGIN_INCLUDE_DIR}")
  return()
endif()

function(weft_plugin name)
  add_library(${name} MODULE ${ARGN})
  set_target_properties(${name} PROPERTIES PREFIX "" C_VISIBILITY_PRESET hidden
                        CXX_VISIBILITY_PRESET hidden)
  target_include_directories(${name} PRIVATE "${WEFT_PLUGIN_INCLUDE_DIR}")
  target_link_options(${name} PRIVATE -Wl,-z,defs)
  install(TARGETS ${name} LIBRARY DESTINATION "${WEFT_PLUGIN_INSTALL_DIR}")
endfunction()

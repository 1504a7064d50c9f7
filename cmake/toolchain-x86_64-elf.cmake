# Freestanding x86-64 toolchain for the hypervisor image.
# Uses x86_64-elf-g++ when one is on the PATH, else the host's (Debian) g++.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

find_program(MENHIR_CROSS_CXX x86_64-elf-g++)
if(MENHIR_CROSS_CXX)
  set(CMAKE_CXX_COMPILER ${MENHIR_CROSS_CXX})
  find_program(MENHIR_CROSS_CC x86_64-elf-gcc)
  set(CMAKE_C_COMPILER ${MENHIR_CROSS_CC})
  set(CMAKE_ASM_COMPILER ${MENHIR_CROSS_CC})
else()
  set(CMAKE_CXX_COMPILER g++)
  set(CMAKE_C_COMPILER gcc)
  set(CMAKE_ASM_COMPILER gcc)
endif()

# No host libraries, no try-run of executables.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)

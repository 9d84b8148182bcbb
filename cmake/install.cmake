# install.cmake — what `cmake --install` puts where (GNU layout under the prefix):
#   bin/dlc                                    the compiler
#   lib/libdlrt.a, include/dlc/*.h             the runtime and its headers, for programs that
#                                              link a `dlc compile` object (examples/embed)
#   lib/pkgconfig/dlc.pc                       pkg-config --cflags --libs dlc
#   share/man/man1/dlc.1                       the manual page (docs/dlc.1)
#   share/bash-completion/completions/dlc      completion of commands, options and files
# tests/check_install.c installs into a temporary prefix and builds examples/embed from it.
include(GNUInstallDirs)

install(TARGETS dlc RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS dlrt ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
# dlrt.h: the ABI compiled code calls; checkpoint.h, mnist.h, batch.h: what a program that
# embeds a network uses to load its parameters and data
install(FILES runtime/dlrt.h runtime/checkpoint.h runtime/mnist.h runtime/dataset.h runtime/batch.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/dlc)

# The .pc finds the prefix relative to itself, so an install under any --prefix works.
file(RELATIVE_PATH DLC_PC_TO_PREFIX "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
string(REGEX REPLACE "/$" "" DLC_PC_TO_PREFIX "${DLC_PC_TO_PREFIX}")
configure_file(${CMAKE_CURRENT_LIST_DIR}/dlc.pc.in ${PROJECT_BINARY_DIR}/dlc.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/dlc.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

install(FILES docs/dlc.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES completion/dlc.bash DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME dlc)

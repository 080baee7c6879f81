# Install layout and the Debian package: `cpack -G DEB` in the build tree (or scripts/package.sh)
# writes swarmd_<version>_amd64.deb with
#   /usr/bin/swarmd                                   the binary (stripped)
#   /usr/lib/systemd/system/swarmd.service            the unit (user swarmd, /var/lib/swarmd)
#   /usr/lib/sysusers.d/swarmd.conf                   the swarmd system user (postinst makes it)
#   /etc/swarmd/swarmd.toml                           the default node config (a conffile)
#   /usr/share/man/man1/swarmd.1.gz                   docs/swarmd.1
#   /usr/share/bash-completion/completions/swarmd     bash completion
# Packaging installs what is built; it never builds: `install` and `package` do not depend on
# `all`, so build the swarmd target (and swarmd_man) first, as scripts/package.sh does.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

set(pkg ${PROJECT_SOURCE_DIR}/packaging)
configure_file(${PROJECT_SOURCE_DIR}/docs/swarmd.1 ${PROJECT_BINARY_DIR}/packaging/swarmd.1 @ONLY)
add_custom_command(OUTPUT ${PROJECT_BINARY_DIR}/packaging/swarmd.1.gz
    COMMAND gzip -9n -c swarmd.1 > swarmd.1.gz
    DEPENDS ${PROJECT_BINARY_DIR}/packaging/swarmd.1
    WORKING_DIRECTORY ${PROJECT_BINARY_DIR}/packaging
    COMMENT "man page swarmd.1.gz")
add_custom_target(swarmd_man ALL DEPENDS ${PROJECT_BINARY_DIR}/packaging/swarmd.1.gz)

install(TARGETS swarmd RUNTIME DESTINATION bin)
install(FILES ${PROJECT_BINARY_DIR}/packaging/swarmd.1.gz DESTINATION share/man/man1)
install(FILES ${pkg}/swarmd.service DESTINATION lib/systemd/system)
install(FILES ${pkg}/swarmd.sysusers DESTINATION lib/sysusers.d RENAME swarmd.conf)
install(FILES ${pkg}/swarmd.bash-completion DESTINATION share/bash-completion/completions
        RENAME swarmd)
install(FILES ${pkg}/swarmd.toml DESTINATION /etc/swarmd)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/config.md
              ${PROJECT_SOURCE_DIR}/docs/operations.md ${PROJECT_SOURCE_DIR}/docs/security.md
        DESTINATION share/doc/swarmd)

set(SWARMD_PACKAGE_MAINTAINER "swarmd maintainers <swarmd@localhost>" CACHE STRING
    "Maintainer field of the Debian package")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME swarmd)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "peer-to-peer daemon for decentralized training")
set(CPACK_PACKAGE_DESCRIPTION
    "swarmd joins a swarm of training nodes over libp2p gossip, trains its own replica of the "
    "swarm's model, shares zeroth-order updates or RL rollouts, and takes part in the final "
    "merge. The package ships the daemon, a hardened systemd unit running as the swarmd user "
    "with its state in /var/lib/swarmd, a default config in /etc/swarmd, a man page and bash "
    "completion.")
string(JOIN "" CPACK_PACKAGE_DESCRIPTION ${CPACK_PACKAGE_DESCRIPTION})
set(CPACK_PACKAGE_CONTACT "${SWARMD_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/package)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# adduser: postinst's fallback when systemd-sysusers is missing. The embedded default spec trains
# on scikit-learn's digits, which python3-sklearn ships.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "python3-sklearn")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${pkg}/postinst ${pkg}/prerm ${pkg}/postrm ${pkg}/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)

# packaging.cmake - what `cmake --install` puts where, and the Debian package (`cpack -G DEB`):
#   /usr/bin/bounceguard, /usr/sbin/bounceguard-{policyd,milter} (install rules next to each target)
#   /etc/bounceguard/bounceguard.toml (a conffile); the shipped rules in /usr/share/doc/bounceguard/examples
#   /lib/systemd/system/bounceguard-{policyd,milter,ingest-log}.service
#   /usr/share/man/man{5,8}/*.gz (man/CMakeLists.txt), /usr/share/doc/bounceguard/{copyright,changelog.gz}
#   /usr/share/bounceguard/bounceguard-dashboard.json (the Grafana dashboard)
# The maintainer scripts (packaging/debian) create the bounceguard user and /var/lib/bounceguard,
# and remove both on purge. `cpack -G DEB` in any build directory makes the package (its prefix is
# /usr whatever CMAKE_INSTALL_PREFIX says); tests/package/test_package.sh builds, lints, installs,
# runs and purges it (ctest label "package", registered with -DBG_PACKAGE_TEST=ON: it installs
# into the running system, so scripts/test.sh runs it alone, at the end).
include(GNUInstallDirs)
# The programs' compiled-in default is /etc/bounceguard/bounceguard.toml, whatever the prefix.
set(BG_CONFIG_DIR "/etc/bounceguard" CACHE PATH "where the configuration is installed")
set(BG_SYSTEMD_UNIT_DIR "/lib/systemd/system" CACHE PATH "where the systemd units are installed")
option(BG_PACKAGE_TEST "Register the package test (installs into this system; run as root)" OFF)
set(BG_PKG_DIR ${PROJECT_SOURCE_DIR}/packaging/debian)

install(FILES ${PROJECT_SOURCE_DIR}/conf/bounceguard.toml DESTINATION ${BG_CONFIG_DIR})
# The shipped classification rules (compiled in): a reference for writing classify.rules_file.
install(FILES ${PROJECT_SOURCE_DIR}/conf/rules.toml DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
install(FILES ${PROJECT_SOURCE_DIR}/conf/bounceguard-policyd.service
              ${PROJECT_SOURCE_DIR}/conf/bounceguard-milter.service
  DESTINATION ${BG_SYSTEMD_UNIT_DIR})
# The log follower's unit is maintained with `ingest-log`; shipped when it is in the tree.
install(FILES ${PROJECT_SOURCE_DIR}/conf/bounceguard-ingest-log.service
  DESTINATION ${BG_SYSTEMD_UNIT_DIR} OPTIONAL)
# The Grafana dashboard over the metrics (INSTALL.md, "Monitoring"): /usr/share/bounceguard/.
install(FILES ${PROJECT_SOURCE_DIR}/conf/grafana/bounceguard-dashboard.json
  DESTINATION ${CMAKE_INSTALL_DATADIR}/bounceguard)

# Debian wants the changelog gzipped (-9n: reproducible) and the copyright file as is.
set(bg_changelog ${CMAKE_BINARY_DIR}/packaging/changelog)
configure_file(${BG_PKG_DIR}/changelog ${bg_changelog} @ONLY)
add_custom_command(OUTPUT ${bg_changelog}.gz
  COMMAND gzip -9nf -k ${bg_changelog}
  DEPENDS ${bg_changelog} COMMENT "Compressing the package changelog" VERBATIM)
add_custom_target(bg_changelog ALL DEPENDS ${bg_changelog}.gz)
install(FILES ${bg_changelog}.gz ${BG_PKG_DIR}/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_PACKAGE_NAME bounceguard)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "the bounceguard authors")
set(CPACK_PACKAGE_CONTACT "bounceguard maintainers <maintainers@bounceguard.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "stop mailing dead recipients, learned from bounces")
# The synopsis is CPACK_PACKAGE_DESCRIPTION_SUMMARY; this is the extended description.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "bounceguard learns from bounces and mail log lines which recipients are dead
and makes Postfix or Sendmail refuse to send to them again, through a policy
daemon (check_policy_service) or a milter. Rejections that are the sender's
fault (blocklists, authentication, SPF/DKIM, spam filters, greylisting, full
mailboxes) are told apart, so a good address is never suppressed.")
set(CPACK_DEBIAN_PACKAGE_SECTION mail)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "postfix | sendmail, postgresql")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${BG_PKG_DIR}/conffiles ${BG_PKG_DIR}/postinst ${BG_PKG_DIR}/prerm ${BG_PKG_DIR}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
include(CPack)

if(BG_BUILD_TESTS AND BG_PACKAGE_TEST)
  add_test(NAME package COMMAND ${PROJECT_SOURCE_DIR}/tests/package/test_package.sh ${CMAKE_BINARY_DIR})
  set_tests_properties(package PROPERTIES LABELS package RUN_SERIAL ON TIMEOUT 600)
  # INSTALL.md's Postfix path run word by word against the system Postfix (tests/docs).
  add_test(NAME install_postfix
    COMMAND ${PROJECT_SOURCE_DIR}/tests/docs/test_install_postfix.sh ${CMAKE_BINARY_DIR})
  set_tests_properties(install_postfix PROPERTIES LABELS package RUN_SERIAL ON TIMEOUT 600
    DEPENDS package)
  add_test(NAME install_postfix_milter
    COMMAND ${PROJECT_SOURCE_DIR}/tests/docs/test_install_postfix.sh ${CMAKE_BINARY_DIR} postfix-milter)
  set_tests_properties(install_postfix_milter PROPERTIES LABELS package RUN_SERIAL ON TIMEOUT 600
    DEPENDS install_postfix)
endif()

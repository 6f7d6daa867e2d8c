# The Debian package (CPack DEB): `cmake -S . -B build -DCMAKE_BUILD_TYPE=Release &&
# cmake --build build && (cd build && cpack -G DEB)` makes build/inkan_<version>_<arch>.deb
# with the binaries (/usr/sbin), the system layer (firmware/CMakeLists.txt), man pages and
# documentation.  Dependencies on shared libraries come from dpkg-shlibdeps.

# ---- man pages (gzip -9n, as Debian wants them) and documentation ----
file(GLOB IK_MAN_PAGES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/docs/man/*.8)
set(IK_MAN_GZ)
foreach(page IN LISTS IK_MAN_PAGES)
  get_filename_component(name ${page} NAME)
  set(gz ${CMAKE_BINARY_DIR}/man/${name}.gz)
  add_custom_command(OUTPUT ${gz}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
    COMMAND gzip -9n -c ${page} > ${gz}
    DEPENDS ${page} VERBATIM)
  list(APPEND IK_MAN_GZ ${gz})
endforeach()
add_custom_target(man ALL DEPENDS ${IK_MAN_GZ})
install(FILES ${IK_MAN_GZ} DESTINATION share/man/man8)
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${CMAKE_SOURCE_DIR}/docs/APPLIANCE.md
  ${CMAKE_SOURCE_DIR}/docs/CONFIG.md ${CMAKE_SOURCE_DIR}/docs/API.md
  DESTINATION share/doc/inkan)

# ---- CPack ----
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME inkan)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "Inkan developers <dev@inkan.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "on-prem HSM-backed client certificate authority appliance")
set(CPACK_PACKAGE_DESCRIPTION "Inkan issues client (mTLS) certificates from a key held in an HSM
(SoftHSM for the demo).  inkan-signerd is the only process that opens the HSM and runs
without network access; inkan-rad is the registration authority with an HTTPS UI and JSON
API; inkan-admin backs up and restores the whole appliance.  Includes the systemd units,
users, firewall, kernel and journald settings and the first-boot setup of the appliance.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "softhsm2, openssl, systemd, util-linux")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "nftables, sqlite3, curl")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${CMAKE_SOURCE_DIR}/image/debian/conffiles
  ${CMAKE_SOURCE_DIR}/image/debian/postinst
  ${CMAKE_SOURCE_DIR}/image/debian/prerm
  ${CMAKE_SOURCE_DIR}/image/debian/postrm)
set(CPACK_STRIP_FILES ON)
include(CPack)

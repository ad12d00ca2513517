# SPDX-License-Identifier: MIT
# Debian packages, one per component: lanparty-relay, lanparty-gateway, lanparty-client
# (scripts/package.sh). Install rules are in the top-level and the apps' CMakeLists.txt.
if(WIN32)
  # The Windows client as a zip: the exe and the players' README (the TAP-Windows6 driver is
  # installed separately; it cannot be bundled).
  set(CPACK_GENERATOR ZIP)
  set(CPACK_PACKAGE_NAME lanparty-client-win)
  set(CPACK_PACKAGE_FILE_NAME lanparty-client-win-${PROJECT_VERSION})
  set(CPACK_INCLUDE_TOPLEVEL_DIRECTORY ON)
  set(CPACK_STRIP_FILES ON)  # RelWithDebInfo: players need no debug info
  include(CPack)
  return()
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR softlan-vpn)
set(CPACK_PACKAGE_CONTACT "softlan-vpn maintainers <softlan-vpn@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL relay gateway client)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)

# Debian descriptions: the summary line, then the long text (one string: a CMake list would
# join its parts with ';').
set(CPACK_DEBIAN_RELAY_PACKAGE_NAME lanparty-relay)
set(CPACK_DEBIAN_RELAY_DESCRIPTION "softlan-vpn relay: holds LAN-party rooms on a public server
Forwards Ethernet frames between a party host's gateway and remote players \
over QUIC datagrams. Runs as lanparty-relay.service (a DynamicUser, no \
capabilities, state in /var/lib/lanparty-relay), configured in \
/etc/lanparty/relay.toml.")
set(CPACK_DEBIAN_GATEWAY_PACKAGE_NAME lanparty-gateway)
set(CPACK_DEBIAN_GATEWAY_DESCRIPTION "softlan-vpn gateway: bridges a party host's LAN into a room
Bridges a wired LAN interface into a softlan-vpn room on a relay, so that \
remote players appear on the LAN. Runs as lanparty-gateway@IFACE.service \
with CAP_NET_RAW and CAP_NET_ADMIN only, configured in \
/etc/lanparty/gateway.toml.")
set(CPACK_DEBIAN_CLIENT_PACKAGE_NAME lanparty-client)
set(CPACK_DEBIAN_CLIENT_DESCRIPTION "softlan-vpn Linux client: joins a LAN party through a relay
Creates a TAP interface (lanparty0) that sits on the party's LAN, with an \
invite link from the host. Runs by hand or as lanparty-client.service, \
configured in /etc/lanparty/client.toml.")

# Files under /etc are the admin's: dpkg keeps their edits on upgrade (conffiles).
foreach(component relay gateway client)
  string(TOUPPER ${component} upper)
  set(conffiles ${CMAKE_CURRENT_BINARY_DIR}/packaging/${component}/conffiles)
  file(WRITE ${conffiles} "/etc/lanparty/${component}.toml\n")
  set(CPACK_DEBIAN_${upper}_PACKAGE_CONTROL_EXTRA ${conffiles})
  set(CPACK_DEBIAN_${upper}_PACKAGE_CONTROL_STRICT_PERMISSION ON)
endforeach()

include(CPack)

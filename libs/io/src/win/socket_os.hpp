// SPDX-License-Identifier: MIT
// The socket API headers, for code shared between the OSes (address.cpp); linux/ has the
// POSIX twin. Winsock's names for IN6_IS_ADDR_V4MAPPED, inet_pton and getaddrinfo match.
#pragma once

#include <winsock2.h>
#include <ws2tcpip.h>

// POSIX's name for the sockaddr family field, which Winsock calls ADDRESS_FAMILY.
using sa_family_t = ADDRESS_FAMILY;

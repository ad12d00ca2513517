// SPDX-License-Identifier: MIT
// The socket API headers, for code shared between the OSes (address.cpp); win/ has the
// Winsock twin.
#pragma once

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

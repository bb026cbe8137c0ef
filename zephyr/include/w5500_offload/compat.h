/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * @file
 * @brief Every difference between the Zephyr releases the W5500 offload driver builds
 *        against, in one place.
 *
 * Supported: Zephyr 3.4 (built and tested by hand) and 4.4+ (the west manifest's release;
 * the socket API namespaced with net_/NET_/ZSOCK_ prefixes). Releases in between take the
 * nearest branch below. The rest of the C layer uses only the W5_* names defined here.
 *
 * What changes:
 * - fd table: z_reserve_fd/z_finalize_fd/z_free_fd (3.4) -> zvfs_* (3.7+); since 4.1 the fd
 *   is finalized as ZVFS_MODE_IFSOCK and the table calls close2(obj, fd).
 * - struct socket_op_vtable: private sockets_internal.h (< 4.3) -> <zephyr/net/socket.h>
 *   (zephyr PR #92963, 4.3);
 *   recvmsg slot since 3.6.
 * - address types: struct sockaddr/socklen_t/AF_INET (< 4.4) -> struct net_sockaddr/
 *   net_socklen_t/NET_AF_INET (4.4+).
 * - fcntl values: ZVFS_F_GETFL/ZVFS_F_SETFL/ZVFS_O_NONBLOCK where defined, else the values of
 *   3.4's <zephyr/posix/fcntl.h> (3, 4, 0x4000), which sockets.c passes through unchanged.
 * - net_if IPv4 setters: net_if_ipv4_set_netmask (3.4) -> net_if_ipv4_set_netmask_by_addr.
 * - <zephyr/random/rand32.h> -> <zephyr/random/random.h>; SPI_DT_SPEC_INST_GET lost its
 *   CS-delay argument.
 * - IP_ADD_MEMBERSHIP: absent from 3.4's socket.h; Linux values (35/36) otherwise.
 * - net_if IPv4 bookkeeping (net_if_ipv4_addr_add/rm, netmask, gateway): 3.4 compiles it
 *   only with the native IPv4 stack; in a 3.4 offload-only image the driver raises
 *   NET_EVENT_IPV4_ADDR_ADD/DEL itself (info: the address) so that applications and
 *   conn_mgr still see the address come and go (W5_HAS_IPV4_BOOKKEEPING).
 * - net_mgmt event codes: uint32_t -> uint64_t (4.2).
 * - dns_resolve_reconfigure() gained a `source` argument (4.2, DNS_SOURCE_DHCPV4).
 */

#ifndef W5500_OFFLOAD_COMPAT_H_
#define W5500_OFFLOAD_COMPAT_H_

#if __has_include(<zephyr/version.h>)
#include <zephyr/version.h>
#else
#include <version.h> /* 3.4: generated into include/generated/ */
#endif
#include <zephyr/kernel.h>
#include <zephyr/net/net_if.h>
#include <zephyr/net/socket.h>
#include <zephyr/sys/fdtable.h>

#if !defined(ZEPHYR_VERSION_CODE)
#error "zephyr/version.h does not define ZEPHYR_VERSION_CODE"
#endif

#define W5_AT_LEAST(a, b, c) (ZEPHYR_VERSION(a, b, c) <= ZEPHYR_VERSION_CODE)

/* ---- struct socket_op_vtable ------------------------------------------------------ */
/* Before 4.3 the struct lives in the private sockets_internal.h (zephyr/CMakeLists.txt adds
 * subsys/net/lib/sockets to the include path). Zephyr PR #92963 ("net: sockets: Move socket
 * vtable definition", merged 2025-07-10, in 4.3) moved it into <zephyr/net/socket.h>, included
 * above; from 4.3 on the private header is not included, so nothing here depends on it.
 */
#if !W5_AT_LEAST(4, 3, 0)
#include "sockets_internal.h"
#endif

#define W5_HAS_RECVMSG W5_AT_LEAST(3, 6, 0)

/* ---- address types and constants ---------------------------------------------------- */
#if W5_AT_LEAST(4, 4, 0)
typedef struct net_sockaddr w5_sockaddr_t;
typedef struct net_sockaddr_in w5_sockaddr_in_t;
typedef net_socklen_t w5_socklen_t;
typedef struct net_in_addr w5_in_addr_t;
typedef struct net_msghdr w5_msghdr_t;
typedef struct net_iovec w5_iovec_t;
#define W5_AF_INET     NET_AF_INET
#define W5_AF_INET6    NET_AF_INET6
#define W5_AF_UNSPEC   NET_AF_UNSPEC
#define W5_SOCK_STREAM NET_SOCK_STREAM
#define W5_SOCK_DGRAM  NET_SOCK_DGRAM
#define W5_IPPROTO_TCP NET_IPPROTO_TCP
#define W5_IPPROTO_UDP NET_IPPROTO_UDP
#define W5_IPPROTO_IP  NET_IPPROTO_IP
#define w5_htons       net_htons
#define w5_ntohs       net_ntohs
#else
typedef struct sockaddr w5_sockaddr_t;
typedef struct sockaddr_in w5_sockaddr_in_t;
typedef socklen_t w5_socklen_t;
typedef struct in_addr w5_in_addr_t;
typedef struct msghdr w5_msghdr_t;
typedef struct iovec w5_iovec_t;
#define W5_AF_INET     AF_INET
#define W5_AF_INET6    AF_INET6
#define W5_AF_UNSPEC   AF_UNSPEC
#define W5_SOCK_STREAM SOCK_STREAM
#define W5_SOCK_DGRAM  SOCK_DGRAM
#define W5_IPPROTO_TCP IPPROTO_TCP
#define W5_IPPROTO_UDP IPPROTO_UDP
#define W5_IPPROTO_IP  IPPROTO_IP
#define w5_htons       htons
#define w5_ntohs       ntohs
#endif

/* Option names: the ZSOCK_ spellings exist from 4.4; before, the plain ones are Zephyr's. */
#if W5_AT_LEAST(4, 4, 0)
#define W5_SOL_SOCKET     ZSOCK_SOL_SOCKET
#define W5_SO_REUSEADDR   ZSOCK_SO_REUSEADDR
#define W5_SO_TYPE        ZSOCK_SO_TYPE
#define W5_SO_ERROR       ZSOCK_SO_ERROR
#define W5_SO_BROADCAST   ZSOCK_SO_BROADCAST
#define W5_SO_KEEPALIVE   ZSOCK_SO_KEEPALIVE
#define W5_SO_RCVTIMEO    ZSOCK_SO_RCVTIMEO
#define W5_SO_SNDTIMEO    ZSOCK_SO_SNDTIMEO
#define W5_SO_PROTOCOL    ZSOCK_SO_PROTOCOL
#define W5_SO_DOMAIN      ZSOCK_SO_DOMAIN
#define W5_TCP_NODELAY    ZSOCK_TCP_NODELAY
#define W5_SHUT_RD        ZSOCK_SHUT_RD
#define W5_SHUT_WR        ZSOCK_SHUT_WR
#define W5_SHUT_RDWR      ZSOCK_SHUT_RDWR
#define W5_AI_PASSIVE     ZSOCK_AI_PASSIVE
#define W5_AI_NUMERICHOST ZSOCK_AI_NUMERICHOST
#define W5_AI_NUMERICSERV ZSOCK_AI_NUMERICSERV
#define W5_AI_CANONNAME   ZSOCK_AI_CANONNAME
#else
#define W5_SOL_SOCKET     SOL_SOCKET
#define W5_SO_REUSEADDR   SO_REUSEADDR
#define W5_SO_TYPE        SO_TYPE
#define W5_SO_ERROR       SO_ERROR
#define W5_SO_BROADCAST   SO_BROADCAST
#define W5_SO_KEEPALIVE   SO_KEEPALIVE
#define W5_SO_RCVTIMEO    SO_RCVTIMEO
#define W5_SO_SNDTIMEO    SO_SNDTIMEO
#define W5_SO_PROTOCOL    SO_PROTOCOL
#define W5_SO_DOMAIN      SO_DOMAIN
#define W5_TCP_NODELAY    TCP_NODELAY
#define W5_SHUT_RD        ZSOCK_SHUT_RD
#define W5_SHUT_WR        ZSOCK_SHUT_WR
#define W5_SHUT_RDWR      ZSOCK_SHUT_RDWR
#define W5_AI_PASSIVE     AI_PASSIVE
#define W5_AI_NUMERICHOST AI_NUMERICHOST
#define W5_AI_NUMERICSERV AI_NUMERICSERV
#define W5_AI_CANONNAME   AI_CANONNAME
#endif
#define W5_MSG_PEEK     ZSOCK_MSG_PEEK
#define W5_MSG_DONTWAIT ZSOCK_MSG_DONTWAIT
#define W5_MSG_WAITALL  ZSOCK_MSG_WAITALL
#define W5_MSG_TRUNC    ZSOCK_MSG_TRUNC

#if defined(ZSOCK_IP_ADD_MEMBERSHIP)
#define W5_IP_ADD_MEMBERSHIP  ZSOCK_IP_ADD_MEMBERSHIP
#define W5_IP_DROP_MEMBERSHIP ZSOCK_IP_DROP_MEMBERSHIP
#elif defined(IP_ADD_MEMBERSHIP)
#define W5_IP_ADD_MEMBERSHIP  IP_ADD_MEMBERSHIP
#define W5_IP_DROP_MEMBERSHIP IP_DROP_MEMBERSHIP
#else
/* Linux values; both ip_mreq and ip_mreqn start with the group address. */
#define W5_IP_ADD_MEMBERSHIP  35
#define W5_IP_DROP_MEMBERSHIP 36
#endif

/* ---- fcntl through ioctl ------------------------------------------------------------ */
#if defined(ZVFS_O_NONBLOCK)
#define W5_F_GETFL    ZVFS_F_GETFL
#define W5_F_SETFL    ZVFS_F_SETFL
#define W5_O_NONBLOCK ZVFS_O_NONBLOCK
#else
/* Zephyr 3.4: <zephyr/posix/fcntl.h> values, passed unchanged by zsock_fcntl(). */
#define W5_F_GETFL    3
#define W5_F_SETFL    4
#define W5_O_NONBLOCK 0x4000
#endif

/* FIONBIO: 3.4's native socket sets O_NONBLOCK and reads no argument; later releases pass an
 * int * (non-zero: non-blocking), as Linux does.
 */
#define W5_FIONBIO_HAS_ARG W5_AT_LEAST(4, 0, 0)

/* ---- fd table ----------------------------------------------------------------------- */
#if W5_AT_LEAST(4, 1, 0)
#define W5_CLOSE_IS_CLOSE2          1
#define w5_reserve_fd()             zvfs_reserve_fd()
#define w5_finalize_fd(fd, obj, vt) zvfs_finalize_typed_fd((fd), (obj), (vt), ZVFS_MODE_IFSOCK)
#define w5_free_fd(fd)              zvfs_free_fd(fd)
#elif W5_AT_LEAST(3, 7, 0)
#define W5_CLOSE_IS_CLOSE2          0
#define w5_reserve_fd()             zvfs_reserve_fd()
#define w5_finalize_fd(fd, obj, vt) zvfs_finalize_fd((fd), (obj), (vt))
#define w5_free_fd(fd)              zvfs_free_fd(fd)
#else
#define W5_CLOSE_IS_CLOSE2          0
#define w5_reserve_fd()             z_reserve_fd()
#define w5_finalize_fd(fd, obj, vt) z_finalize_fd((fd), (obj), (vt))
#define w5_free_fd(fd)              z_free_fd(fd)
#endif
/* The object, vtable and lock behind an fd (tests call the fd vtable's read/write, which
 * POSIX read()/write() reach).
 */
#if W5_AT_LEAST(3, 7, 0)
#define w5_get_fd_obj_and_vtable(fd, vt, lock) zvfs_get_fd_obj_and_vtable((fd), (vt), (lock))
#else
#define w5_get_fd_obj_and_vtable(fd, vt, lock) z_get_fd_obj_and_vtable((fd), (vt), (lock))
#endif

/* ---- random, SPI spec -------------------------------------------------------------- */
#if __has_include(<zephyr/random/random.h>)
#include <zephyr/random/random.h>
#else
#include <zephyr/random/rand32.h>
#endif

/* The CS delay argument became optional (variadic) and then deprecated. */
#if W5_AT_LEAST(4, 2, 0)
#define W5_SPI_DT_SPEC_INST_GET(inst, op) SPI_DT_SPEC_INST_GET(inst, op)
#else
#define W5_SPI_DT_SPEC_INST_GET(inst, op) SPI_DT_SPEC_INST_GET(inst, op, 0)
#endif

/* ---- net_if IPv4 bookkeeping ------------------------------------------------------------ */
/* Zephyr 3.4 compiles net_if_ipv4_addr_add() and friends only with the native IPv4 stack;
 * an offload-only 3.4 image (CONFIG_NET_NATIVE=n) then has no address on the interface (the
 * chip still has it). Later releases keep them for offloaded interfaces.
 */
#if defined(CONFIG_NET_NATIVE_IPV4) || W5_AT_LEAST(4, 0, 0)
#define W5_HAS_IPV4_BOOKKEEPING 1
#else
#define W5_HAS_IPV4_BOOKKEEPING 0
#endif

#if W5_HAS_IPV4_BOOKKEEPING
static inline void w5_if_set_netmask(struct net_if *iface, w5_in_addr_t *addr, w5_in_addr_t *mask)
{
#if W5_AT_LEAST(3, 6, 0)
	(void)net_if_ipv4_set_netmask_by_addr(iface, addr, mask);
#else
	ARG_UNUSED(addr);
	net_if_ipv4_set_netmask(iface, mask);
#endif
}
#endif

/* ---- net_mgmt event codes ---------------------------------------------------------------- */
#if W5_AT_LEAST(4, 2, 0)
typedef uint64_t w5_mgmt_event_t;
#else
typedef uint32_t w5_mgmt_event_t;
#endif

/* ---- Zephyr's own DNS resolver (only when the application enables it) --------------------- */
#if defined(CONFIG_DNS_RESOLVER)
#include <zephyr/net/dns_resolve.h>
static inline int w5_dns_reconfigure(const char *servers[])
{
#if W5_AT_LEAST(4, 2, 0)
	return dns_resolve_reconfigure(dns_resolve_get_default(), servers, NULL, DNS_SOURCE_DHCPV4);
#else
	return dns_resolve_reconfigure(dns_resolve_get_default(), servers, NULL);
#endif
}
#endif

#endif /* W5500_OFFLOAD_COMPAT_H_ */

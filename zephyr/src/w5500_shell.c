/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * @file
 * @brief Shell commands: "w5500 status" and "w5500 sockets" (CONFIG_W5500_OFFLOAD_SHELL).
 */

#include <zephyr/shell/shell.h>

#include "w5500_priv.h"

#define IP4(a) (a)[0], (a)[1], (a)[2], (a)[3]

static int cmd_status(const struct shell *sh, size_t argc, char **argv)
{
	W5500RsStatus st;
	int r;

	ARG_UNUSED(argc);
	ARG_UNUSED(argv);
	r = w5500_rs_status(&st);
	if (r < 0) {
		shell_error(sh, "driver not running (errno %d)", w5500_offload_errno(-r));
		return -ENODEV;
	}
	shell_print(sh, "link:     %s%s%s", st.link_up ? "up" : "down",
		    st.link_up ? (st.speed_100 ? ", 100 Mbit/s" : ", 10 Mbit/s") : "",
		    st.link_up ? (st.full_duplex ? ", full duplex" : ", half duplex") : "");
	shell_print(sh, "address:  %u.%u.%u.%u/%u.%u.%u.%u via %u.%u.%u.%u", IP4(st.ipv4.addr),
		    IP4(st.ipv4.netmask), IP4(st.ipv4.gateway));
	shell_print(sh, "sockets:  %u free, %u reserved for DHCP/DNS", st.free_hw_sockets,
		    st.reserved_sockets);
	if (st.dhcp_bound) {
		shell_print(sh, "DHCP:     bound, lease %u s, %u renewals", st.lease_s,
			    st.dhcp_renewals);
	} else {
		shell_print(sh, "DHCP:     no lease");
	}
	for (int i = 0; i < st.n_dns && i < W5500_RS_DNS_MAX; i++) {
		shell_print(sh, "DNS:      %u.%u.%u.%u", st.dns[i][0], st.dns[i][1], st.dns[i][2],
			    st.dns[i][3]);
	}
	return 0;
}

static int cmd_sockets(const struct shell *sh, size_t argc, char **argv)
{
	struct w5500_offload_data *d = w5500_offload_instance;
	int n = 0;

	ARG_UNUSED(argc);
	ARG_UNUSED(argv);
	if (d == NULL) {
		shell_error(sh, "driver not running");
		return -ENODEV;
	}
	shell_print(sh, "fd  id    type  local                  peer                   ready");
	for (int i = 0; i < W5500_OFFLOAD_SOCKETS; i++) {
		W5500RsSocketInfo info;
		int32_t id = d->socks[i].id;

		if (id < 0 || w5500_rs_socket_info(id, &info) < 0) {
			continue;
		}
		shell_print(sh,
			    "%-3d %04x  %-4s  %3u.%3u.%3u.%3u:%-5u  %3u.%3u.%3u.%3u:%-5u  %s%s%s%s",
			    d->socks[i].fd, (unsigned int)id,
			    info.socktype == W5500_RS_SOCK_TYPE_STREAM ? "tcp" : "udp",
			    IP4(info.local.addr), info.local.port, IP4(info.peer.addr),
			    info.peer.port, (info.readiness & W5500_RS_POLLIN) ? "in " : "",
			    (info.readiness & W5500_RS_POLLOUT) ? "out " : "",
			    (info.readiness & W5500_RS_POLLERR) ? "err " : "",
			    (info.readiness & W5500_RS_POLLHUP) ? "hup" : "");
		n++;
	}
	shell_print(sh, "%d open", n);
	return 0;
}

SHELL_STATIC_SUBCMD_SET_CREATE(
	w5500_cmds,
	SHELL_CMD(status, NULL, "Link, IPv4 configuration and free hardware sockets", cmd_status),
	SHELL_CMD(sockets, NULL, "Open offloaded sockets", cmd_sockets), SHELL_SUBCMD_SET_END);

SHELL_CMD_REGISTER(w5500, &w5500_cmds, "WIZnet W5500 offload driver", NULL);

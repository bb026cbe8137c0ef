/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * HTTP GET through the W5500's offloaded sockets: wait until the network is usable
 * (NET_EVENT_L4_CONNECTED from the connection manager: carrier, interface up and an IPv4
 * address, here a DHCP lease from the driver's own client), resolve the host name with
 * getaddrinfo() (the driver's DNS offload, servers from the lease), fetch the path and print
 * the status line and the body size.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <zephyr/kernel.h>
#include <zephyr/net/conn_mgr_monitor.h>
#include <zephyr/net/net_event.h>
#include <zephyr/net/net_if.h>
#include <zephyr/net/net_mgmt.h>
#include <zephyr/net/socket.h>

#include <w5500_offload/compat.h> /* w5_mgmt_event_t: uint32_t before Zephyr 4.2 */

static K_SEM_DEFINE(l4_up, 0, 1);
static struct net_mgmt_event_callback l4_cb;

static void on_l4(struct net_mgmt_event_callback *cb, w5_mgmt_event_t event, struct net_if *iface)
{
	ARG_UNUSED(cb);
	ARG_UNUSED(iface);
	if (event == NET_EVENT_L4_CONNECTED) {
		k_sem_give(&l4_up);
	}
}

static int wait_for_network(void)
{
	net_mgmt_init_event_callback(&l4_cb, on_l4, NET_EVENT_L4_CONNECTED);
	net_mgmt_add_event_callback(&l4_cb);
	/* Connected already (a fast lease)? Then this raises the event again. */
	conn_mgr_mon_resend_status();
	return k_sem_take(&l4_up, K_SECONDS(60));
}

int main(void)
{
	static char buf[512];
	struct zsock_addrinfo hints = { 0 }, *res = NULL;
	int fd, r, len, total = 0;
	int64_t t0;

	if (wait_for_network() < 0) {
		printf("no network (cable, chip, DHCP?)\n");
		return 0;
	}
	printf("network up\n");
	hints.ai_family = W5_AF_INET;
	hints.ai_socktype = W5_SOCK_STREAM;
	t0 = k_uptime_get();
	r = zsock_getaddrinfo(CONFIG_SAMPLE_HTTP_HOST, CONFIG_SAMPLE_HTTP_PORT, &hints, &res);
	t0 = k_uptime_get() - t0;
	if (r != 0) {
		printf("getaddrinfo(%s): %d\n", CONFIG_SAMPLE_HTTP_HOST, r);
		return 0;
	}
	{
		const uint8_t *a = (const uint8_t *)&((w5_sockaddr_in_t *)res->ai_addr)->sin_addr;

		printf("%s is %u.%u.%u.%u (lookup %u ms)\n", CONFIG_SAMPLE_HTTP_HOST, a[0], a[1],
		       a[2], a[3], (unsigned int)t0);
	}
	fd = zsock_socket(res->ai_family, res->ai_socktype, res->ai_protocol);
	if (fd < 0 || zsock_connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
		printf("connect: errno %d\n", errno);
		zsock_freeaddrinfo(res);
		return 0;
	}
	zsock_freeaddrinfo(res);
	len = snprintf(buf, sizeof(buf), "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
		       CONFIG_SAMPLE_HTTP_PATH, CONFIG_SAMPLE_HTTP_HOST);
	if (zsock_send(fd, buf, len, 0) != len) {
		printf("send: errno %d\n", errno);
		zsock_close(fd);
		return 0;
	}
	for (;;) {
		r = zsock_recv(fd, buf, sizeof(buf) - 1, 0);
		if (r <= 0) {
			break;
		}
		if (total == 0) {
			buf[r] = '\0';
			char *eol = strstr(buf, "\r\n");

			if (eol != NULL) {
				*eol = '\0';
			}
			printf("status: %s\n", buf);
		}
		total += r;
	}
	printf("received %d bytes from %s%s (%s)\n", total, CONFIG_SAMPLE_HTTP_HOST,
	       CONFIG_SAMPLE_HTTP_PATH, r == 0 ? "closed" : "error");
	zsock_close(fd);
	return 0;
}

/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * HTTP GET through the W5500's offloaded sockets: wait for the interface (carrier and, with
 * DHCP, a lease), resolve the host with getaddrinfo() (DNS offload), fetch the path and print
 * the status line and the body size.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <zephyr/kernel.h>
#include <zephyr/net/net_if.h>
#include <zephyr/net/socket.h>

static int wait_for_network(void)
{
	struct net_if *iface = net_if_get_default();

	for (int i = 0; i < 1000; i++) {
		if (iface != NULL && net_if_is_up(iface) && net_if_is_carrier_ok(iface)) {
			return 0;
		}
		k_msleep(10);
	}
	return -ETIMEDOUT;
}

int main(void)
{
	static char buf[512];
	struct zsock_addrinfo hints = { 0 }, *res = NULL;
	int fd, r, len, total = 0;

	if (wait_for_network() < 0) {
		printf("no network (cable, chip?)\n");
		return 0;
	}
	hints.ai_socktype = SOCK_STREAM;
	r = zsock_getaddrinfo(CONFIG_SAMPLE_HTTP_HOST, CONFIG_SAMPLE_HTTP_PORT, &hints, &res);
	if (r != 0) {
		printf("getaddrinfo(%s): %d\n", CONFIG_SAMPLE_HTTP_HOST, r);
		return 0;
	}
	fd = zsock_socket(res->ai_family, res->ai_socktype, res->ai_protocol);
	if (fd < 0 || zsock_connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
		printf("connect: errno %d\n", errno);
		zsock_freeaddrinfo(res);
		return 0;
	}
	zsock_freeaddrinfo(res);
	len = snprintf(buf, sizeof(buf),
		       "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
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

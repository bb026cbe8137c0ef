/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * TCP and UDP echo on port 7 over the W5500's offloaded sockets, several TCP clients at
 * once: one thread, one poll() over the listener, the UDP socket and every client.
 */

#include <errno.h>
#include <stdio.h>

#include <zephyr/kernel.h>
#include <zephyr/net/socket.h>

#define PORT        7
#define MAX_CLIENTS 3

static struct zsock_pollfd fds[2 + MAX_CLIENTS];

static int open_socket(int type)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	int fd = zsock_socket(AF_INET, type, 0);

	if (fd < 0 || zsock_bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		printf("socket/bind: errno %d\n", errno);
		if (fd >= 0) {
			zsock_close(fd);
		}
		return -1;
	}
	return fd;
}

/* The listening TCP socket and the UDP socket, in fds[0] and fds[1]. */
static int open_listeners(void)
{
	int tcp = open_socket(SOCK_STREAM);
	int udp = open_socket(SOCK_DGRAM);

	if (tcp < 0 || udp < 0 || zsock_listen(tcp, MAX_CLIENTS) < 0) {
		printf("setup failed: errno %d\n", errno);
		if (tcp >= 0) {
			zsock_close(tcp);
		}
		if (udp >= 0) {
			zsock_close(udp);
		}
		return -1;
	}
	fds[0] = (struct zsock_pollfd){ .fd = tcp, .events = ZSOCK_POLLIN };
	fds[1] = (struct zsock_pollfd){ .fd = udp, .events = ZSOCK_POLLIN };
	return 0;
}

#define BROKEN (ZSOCK_POLLERR | ZSOCK_POLLHUP | ZSOCK_POLLNVAL)

int main(void)
{
	static char buf[512];

	if (open_listeners() < 0) {
		return 0;
	}
	for (int i = 2; i < ARRAY_SIZE(fds); i++) {
		fds[i].fd = -1;
	}
	printf("echo server on TCP and UDP port %d\n", PORT);
	for (;;) {
		if (zsock_poll(fds, ARRAY_SIZE(fds), -1) < 0) {
			printf("poll: errno %d\n", errno);
			return 0;
		}
		/* The chip was lost or reset: its sockets are gone. Polling them again would
		 * return at once, for ever; close every socket and open new listeners (once a
		 * second until that works).
		 */
		if ((fds[0].revents | fds[1].revents) & BROKEN) {
			printf("listening sockets lost (revents 0x%x 0x%x), opening them again\n",
			       fds[0].revents, fds[1].revents);
			for (int i = 0; i < ARRAY_SIZE(fds); i++) {
				if (fds[i].fd >= 0) {
					zsock_close(fds[i].fd);
					fds[i].fd = -1;
				}
			}
			do {
				k_sleep(K_SECONDS(1));
			} while (open_listeners() < 0);
			printf("echo server on TCP and UDP port %d\n", PORT);
			continue;
		}
		if (fds[0].revents & ZSOCK_POLLIN) {
			struct sockaddr_in peer;
			socklen_t len = sizeof(peer);
			int c = zsock_accept(fds[0].fd, (struct sockaddr *)&peer, &len);
			int slot = -1;

			for (int i = 2; i < ARRAY_SIZE(fds) && c >= 0; i++) {
				if (fds[i].fd < 0) {
					slot = i;
					break;
				}
			}
			if (slot < 0) {
				if (c >= 0) {
					zsock_close(c);
				}
			} else {
				fds[slot] =
					(struct zsock_pollfd){ .fd = c, .events = ZSOCK_POLLIN };
				printf("client %d connected\n", c);
			}
		}
		if (fds[1].revents & ZSOCK_POLLIN) {
			struct sockaddr_in peer;
			socklen_t len = sizeof(peer);
			ssize_t n = zsock_recvfrom(fds[1].fd, buf, sizeof(buf), 0,
						   (struct sockaddr *)&peer, &len);

			if (n > 0) {
				zsock_sendto(fds[1].fd, buf, n, 0, (struct sockaddr *)&peer, len);
			}
		}
		for (int i = 2; i < ARRAY_SIZE(fds); i++) {
			ssize_t n;

			if (fds[i].fd < 0 || fds[i].revents == 0) {
				continue;
			}
			n = zsock_recv(fds[i].fd, buf, sizeof(buf), 0);
			if (n <= 0 || zsock_send(fds[i].fd, buf, n, 0) != n) {
				printf("client %d gone\n", fds[i].fd);
				zsock_close(fds[i].fd);
				fds[i].fd = -1;
			}
		}
	}
	return 0;
}

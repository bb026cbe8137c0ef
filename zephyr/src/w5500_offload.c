/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * @file
 * @brief WIZnet W5500 socket-offload driver: devicetree instance, the offloaded network
 *        interface, the worker thread (INTn or polling), interface events and the DNS
 *        offload. The chip and socket logic are in Rust (rust/w5500-zephyr).
 *
 * Relation to Zephyr's eth_w5500.c: that driver runs the chip in MACRAW mode under the
 * native IP stack (compatible "wiznet,w5500"); this one uses the chip's hardwired TCP/IP
 * engine (compatible "wiznet,w5500-offload"). Kconfig keeps them apart.
 */

#define DT_DRV_COMPAT wiznet_w5500_offload

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <zephyr/device.h>
#include <zephyr/logging/log.h>
#include <zephyr/net/dns_resolve.h>
#include <zephyr/net/ethernet.h>
#include <zephyr/net/net_event.h>
#include <zephyr/net/net_if.h>
#include <zephyr/net/net_mgmt.h>
#include <zephyr/net/offloaded_netdev.h>
#include <zephyr/net/socket_offload.h>

#include "w5500_priv.h"

LOG_MODULE_REGISTER(w5500_offload, CONFIG_W5500_OFFLOAD_LOG_LEVEL);

BUILD_ASSERT(DT_NUM_INST_STATUS_OKAY(DT_DRV_COMPAT) <= W5500_RS_MAX_INSTANCES,
	     "w5500-offload: one chip per image (the socket-offload handler has no device "
	     "argument); disable the other wiznet,w5500-offload nodes");

struct w5500_offload_data *w5500_offload_instance;

#define HAS_INT_GPIO   DT_INST_NODE_HAS_PROP(0, int_gpios)
#define HAS_RESET_GPIO DT_INST_NODE_HAS_PROP(0, reset_gpios)

#if HAS_INT_GPIO || HAS_RESET_GPIO
BUILD_ASSERT(IS_ENABLED(CONFIG_GPIO), "w5500-offload: int-gpios/reset-gpios need CONFIG_GPIO");
#endif

static K_KERNEL_STACK_DEFINE(w5500_worker_stack, CONFIG_W5500_OFFLOAD_WORKER_STACK_SIZE);
static struct k_thread w5500_worker_thread;

/*
 * The worker thread does the driver's deep work, so that only its stack is sized for it
 * (CONFIG_W5500_OFFLOAD_WORKER_STACK_SIZE, from measurement): the Rust initialisation at
 * device init (which would otherwise run on the main thread's stack), every interface poll,
 * and the DNS lookups of getaddrinfo(), which callers hand over and wait for. Application
 * threads only make socket calls, whose depth is small.
 */
struct w5500_call {
	/** Init: the configuration (the other fields are for getaddrinfo). */
	const W5500RsConfig *rc;
#if defined(CONFIG_W5500_OFFLOAD_DNS)
	const char *node;
	const char *service;
	const struct W5500RsAiHints *hints;
	W5500RsAddrinfo *out;
	size_t max;
	size_t n;
#endif
	int ret;
	struct k_sem done;
};

#if defined(CONFIG_W5500_OFFLOAD_DNS)
/* A getaddrinfo() handed over by w5500_offload_lookup(). */
static void w5500_call_run(struct w5500_call *c)
{
	c->ret = w5500_rs_getaddrinfo(c->node, c->service, c->hints, c->out, c->max, &c->n);
	k_sem_give(&c->done);
}
#endif

/* --- interface events ----------------------------------------------------------------- */

static inline void addr_from(w5_in_addr_t *a, const uint8_t b[4])
{
	memcpy(a, b, 4);
}

#define IP4_FMT     "%u.%u.%u.%u"
#define IP4_ARGS(b) (b)[0], (b)[1], (b)[2], (b)[3]

/* The address on the net_if: bookkeeping only (the chip's SIPR/SUBR/GAR are programmed by
 * Rust). NET_EVENT_IPV4_ADDR_ADD/DEL come from net_if_ipv4_addr_add/rm where Zephyr has
 * them for an offloaded interface, else (3.4 offload-only) from the driver itself.
 */
static void address_added(struct w5500_offload_data *d, const W5500RsEvent *ev)
{
	if (d->have_addr) {
#if W5_HAS_IPV4_BOOKKEEPING
		(void)net_if_ipv4_addr_rm(d->iface, &d->addr);
#else
		net_mgmt_event_notify_with_info(NET_EVENT_IPV4_ADDR_DEL, d->iface, &d->addr,
						sizeof(d->addr));
#endif
	}
	addr_from(&d->addr, ev->ipv4.addr);
	d->have_addr = true;
#if W5_HAS_IPV4_BOOKKEEPING
	w5_in_addr_t mask, gw;

	addr_from(&mask, ev->ipv4.netmask);
	addr_from(&gw, ev->ipv4.gateway);
	if (net_if_ipv4_addr_add(d->iface, &d->addr, ev->dhcp ? NET_ADDR_DHCP : NET_ADDR_MANUAL,
				 0) == NULL) {
		LOG_ERR("net_if_ipv4_addr_add failed");
		d->have_addr = false;
		return;
	}
	w5_if_set_netmask(d->iface, &d->addr, &mask);
	net_if_ipv4_set_gw(d->iface, &gw);
#else
	net_mgmt_event_notify_with_info(NET_EVENT_IPV4_ADDR_ADD, d->iface, &d->addr,
					sizeof(d->addr));
#endif
	LOG_INF("IPv4 " IP4_FMT "/" IP4_FMT " gw " IP4_FMT " (%s)", IP4_ARGS(ev->ipv4.addr),
		IP4_ARGS(ev->ipv4.netmask), IP4_ARGS(ev->ipv4.gateway),
		ev->dhcp ? "DHCP" : "static");
}

static void address_removed(struct w5500_offload_data *d, const W5500RsEvent *ev)
{
	if (!d->have_addr || memcmp(&d->addr, ev->ipv4.addr, 4) != 0) {
		return;
	}
	d->have_addr = false;
#if W5_HAS_IPV4_BOOKKEEPING
	(void)net_if_ipv4_addr_rm(d->iface, &d->addr);
#else
	net_mgmt_event_notify_with_info(NET_EVENT_IPV4_ADDR_DEL, d->iface, &d->addr,
					sizeof(d->addr));
#endif
	LOG_INF("IPv4 " IP4_FMT " removed", IP4_ARGS(ev->ipv4.addr));
}

static void dns_servers(const W5500RsEvent *ev)
{
	LOG_INF("DNS servers: %u (first " IP4_FMT ")", ev->n_dns, IP4_ARGS(ev->dns[0]));
#if defined(CONFIG_DNS_RESOLVER)
	/* Zephyr's own resolver, if the application uses it directly (getaddrinfo() goes to
	 * the driver's DNS offload, which already has them).
	 */
	static char text[W5500_RS_DNS_MAX][16];
	const char *list[W5500_RS_DNS_MAX + 1] = { 0 };

	for (int i = 0; i < ev->n_dns && i < W5500_RS_DNS_MAX; i++) {
		snprintf(text[i], sizeof(text[i]), IP4_FMT, IP4_ARGS(ev->dns[i]));
		list[i] = text[i];
	}
	if (ev->n_dns > 0) {
		(void)w5_dns_reconfigure(list);
	}
#endif
}

void w5500_offload_handle_events(struct w5500_offload_data *d)
{
	W5500RsEvent ev;

	/* Bounded: the Rust queue holds 16. */
	for (int i = 0; i < 32 && w5500_rs_poll_events(&ev) == 1; i++) {
		switch (ev.kind) {
		case W5500_RS_EVENT_KIND_LINK_UP:
			LOG_INF("link up (%s, %s duplex)", ev.speed_100 ? "100M" : "10M",
				ev.full_duplex ? "full" : "half");
			net_if_carrier_on(d->iface);
			break;
		case W5500_RS_EVENT_KIND_LINK_DOWN:
			LOG_INF("link down");
			net_if_carrier_off(d->iface);
			break;
		case W5500_RS_EVENT_KIND_ADDRESS_ADDED:
			address_added(d, &ev);
			break;
		case W5500_RS_EVENT_KIND_ADDRESS_REMOVED:
			address_removed(d, &ev);
			break;
		case W5500_RS_EVENT_KIND_DHCP_BOUND:
		case W5500_RS_EVENT_KIND_DHCP_RENEWED:
		case W5500_RS_EVENT_KIND_DHCP_REBOUND:
			/* As Zephyr's own client: raised on every (re)entry to BOUND. No struct
			 * net_if_dhcpv4 without the native client: no info payload.
			 */
			LOG_INF("DHCP %s, lease %u s",
				ev.kind == W5500_RS_EVENT_KIND_DHCP_BOUND     ? "bound"
				: ev.kind == W5500_RS_EVENT_KIND_DHCP_RENEWED ? "renewed"
									      : "rebound",
				ev.lease_s);
			net_mgmt_event_notify(NET_EVENT_IPV4_DHCP_BOUND, d->iface);
			break;
		case W5500_RS_EVENT_KIND_DHCP_LOST:
			LOG_WRN("DHCP lease lost");
			break;
		case W5500_RS_EVENT_KIND_DHCP_DECLINED:
			LOG_WRN("DHCP: " IP4_FMT " is in use, declined", IP4_ARGS(ev.ipv4.addr));
			break;
		case W5500_RS_EVENT_KIND_DNS_SERVERS:
			dns_servers(&ev);
			break;
		case W5500_RS_EVENT_KIND_CHIP_RESET:
			LOG_WRN("chip reset detected; registers programmed again");
			break;
		default:
			break;
		}
	}
}

/* --- worker ---------------------------------------------------------------------------- */

#if HAS_INT_GPIO
static void w5500_int_handler(const struct device *port, struct gpio_callback *cb, uint32_t pins)
{
	struct w5500_offload_data *d = CONTAINER_OF(cb, struct w5500_offload_data, int_cb);

	ARG_UNUSED(port);
	ARG_UNUSED(pins);
	k_sem_give(&d->irq_sem);
}
#endif

/*
 * The worker: first the Rust initialisation (for device init), then in a loop a handed-over
 * getaddrinfo() if any, Iface::poll (chip service, PHY link, DHCP timers and messages), the
 * interface events into the net_if, and sleep until INTn, a kick (w5500_shim_kick_worker, or
 * a getaddrinfo() handed over), the time poll asked for, or the poll period, whichever comes
 * first. Events are handled
 * with no driver lock held (net_if_* take the net_if lock; the enable hook takes it before
 * ours, so holding ours here would invert the order).
 */
static void w5500_worker(void *p1, void *p2, void *p3)
{
	struct w5500_offload_data *d = p1;
	int64_t period = HAS_INT_GPIO ? CONFIG_W5500_OFFLOAD_SAFETY_POLL_MS
				      : CONFIG_W5500_OFFLOAD_POLL_INTERVAL_MS;

	ARG_UNUSED(p3);
	/* First the Rust initialisation, for w5500_offload_init (which waits for it; its call
	 * is gone once it has the result).
	 */
	{
		struct w5500_call *init = p2;
		int r = w5500_rs_init(init->rc);

		if (r >= 0) {
			const uint8_t *m = init->rc->mac;

			/* Here, not in Rust: bytes printed with %02x (no Rust formatting). Before
			 * the give: the config lives on the waiting caller's stack. */
			LOG_INF("W5500 up, MAC %02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
				m[3], m[4], m[5]);
		}
		init->ret = r;
		k_sem_give(&init->done);
		if (r < 0) {
			return;
		}
	}
	for (;;) {
		uint64_t next = 0;
		int64_t wait = period;
		int r = 0;
#if defined(CONFIG_W5500_OFFLOAD_DNS)
		struct w5500_call *c = atomic_ptr_clear(&d->call);

		if (c != NULL) {
			w5500_call_run(c);
		}
#endif

		/* INTn is a level: poll until it is released (bounded). */
		for (int i = 0; i < 4; i++) {
			r = w5500_rs_poll(&next);
			if (r < 0) {
				LOG_WRN("poll: errno %d", w5500_offload_errno(-r));
				break;
			}
#if HAS_INT_GPIO
			if (gpio_pin_get_dt(&d->cfg->int_gpio) != 1) {
				break;
			}
#else
			break;
#endif
		}
		if (d->iface != NULL) {
			w5500_offload_handle_events(d);
		}
		if (r == 1) {
			int64_t now = k_uptime_get();

			wait = MIN(wait, (int64_t)next > now ? (int64_t)next - now : 0);
		}
		(void)k_sem_take(&d->irq_sem, K_MSEC(wait));
	}
}

/* --- DNS offload --------------------------------------------------------------------------- */

#if defined(CONFIG_W5500_OFFLOAD_DNS)
static int eai(int name)
{
	switch (name) {
	case W5500_RS_EAI_NO_NAME:
		return DNS_EAI_NONAME;
	case W5500_RS_EAI_AGAIN:
		return DNS_EAI_AGAIN;
	case W5500_RS_EAI_FAIL:
		return DNS_EAI_FAIL;
	case W5500_RS_EAI_SERVICE:
		return DNS_EAI_SERVICE;
	case W5500_RS_EAI_SOCKTYPE:
		return DNS_EAI_SOCKTYPE;
	case W5500_RS_EAI_BAD_FLAGS:
		return DNS_EAI_BADFLAGS;
	case W5500_RS_EAI_MEMORY:
		return DNS_EAI_MEMORY;
	case W5500_RS_EAI_FAMILY:
		return DNS_EAI_FAMILY;
	case W5500_RS_EAI_SYSTEM:
		errno = EIO;
		return DNS_EAI_SYSTEM;
	default:
		return DNS_EAI_FAIL;
	}
}

/* getaddrinfo on the worker thread (see struct w5500_call); from the worker itself, or
 * before it runs, directly. Callers are served one at a time, in turn.
 */
static int w5500_offload_lookup(const char *node, const char *service, const W5500RsAiHints *hints,
				W5500RsAddrinfo *out, size_t max, size_t *n)
{
	static K_MUTEX_DEFINE(lookup_lock);
	struct w5500_offload_data *d = w5500_offload_instance;
	struct w5500_call c = {
		.node = node,
		.service = service,
		.hints = hints,
		.out = out,
		.max = max,
	};

	if (d == NULL || k_current_get() == &w5500_worker_thread) {
		return w5500_rs_getaddrinfo(node, service, hints, out, max, n);
	}
	k_sem_init(&c.done, 0, 1);
	k_mutex_lock(&lookup_lock, K_FOREVER);
	atomic_ptr_set(&d->call, &c);
	k_sem_give(&d->irq_sem);
	k_sem_take(&c.done, K_FOREVER);
	k_mutex_unlock(&lookup_lock);
	*n = c.n;
	return c.ret;
}

/* The values Rust reads as they are (rust/w5500-zephyr/src/abi.rs). */
BUILD_ASSERT(W5_SOCK_STREAM == 1 && W5_SOCK_DGRAM == 2, "socket types");
BUILD_ASSERT(W5_IPPROTO_TCP == 6 && W5_IPPROTO_UDP == 17, "protocols");
BUILD_ASSERT((W5_AI_PASSIVE == W5500_RS_AI_PASSIVE) && (W5_AI_CANONNAME == W5500_RS_AI_CANONNAME) &&
		     (W5_AI_NUMERICHOST == W5500_RS_AI_NUMERICHOST) &&
		     (W5_AI_NUMERICSERV == W5500_RS_AI_NUMERICSERV),
	     "getaddrinfo flags");

/* Result nodes come from a heap of our own, so the DNS offload works without
 * CONFIG_HEAP_MEM_POOL_SIZE.
 */
K_HEAP_DEFINE(w5500_ai_heap, CONFIG_W5500_OFFLOAD_DNS_RESULTS *
					     (sizeof(struct zsock_addrinfo) + 2 * sizeof(void *)) +
				     64);

static void w5500_freeaddrinfo(struct zsock_addrinfo *res)
{
	while (res != NULL) {
		struct zsock_addrinfo *next = res->ai_next;

		k_heap_free(&w5500_ai_heap, res);
		res = next;
	}
}

/* 0 or a DNS_EAI_* code. The result nodes are allocated here (their layout changes between
 * releases), from Rust's plain results. Names are resolved by the driver's DNS client over
 * the chip: this blocks the caller (bounded by the resolver's timers, seconds at worst) while
 * the interface keeps running (see rust/w5500-zephyr/src/instance.rs). AI_CANONNAME is
 * accepted, but ai_canonname stays NULL.
 */
static int w5500_getaddrinfo(const char *node, const char *service,
			     const struct zsock_addrinfo *hints, struct zsock_addrinfo **res)
{
	W5500RsAiHints h = { 0 };
	W5500RsAddrinfo out[W5500_RS_GAI_MAX];
	struct zsock_addrinfo *head = NULL, **tail = &head;
	size_t n = 0;
	int r;

	if (res == NULL) {
		errno = EINVAL;
		return DNS_EAI_SYSTEM;
	}
	if (hints != NULL) {
		/* Passed through for Rust's one check of them (rust/w5500-netsvc/src/dns/gai.rs);
		 * only the family's number differs between libcs. Flags outside POSIX's set are
		 * dropped, as Zephyr's own getaddrinfo() ignores them.
		 */
		h.family = hints->ai_family == W5_AF_UNSPEC  ? W5500_RS_FAMILY_UNSPEC
			   : hints->ai_family == W5_AF_INET  ? W5500_RS_FAMILY_INET
			   : hints->ai_family == W5_AF_INET6 ? W5500_RS_FAMILY_INET6
							     : W5500_RS_FAMILY_OTHER;
		h.socktype = hints->ai_socktype;
		h.protocol = hints->ai_protocol;
		h.flags = (uint32_t)hints->ai_flags &
			  (W5500_RS_AI_PASSIVE | W5500_RS_AI_CANONNAME | W5500_RS_AI_NUMERICHOST |
			   W5500_RS_AI_V4MAPPED | W5500_RS_AI_ALL | W5500_RS_AI_ADDRCONFIG |
			   W5500_RS_AI_NUMERICSERV);
	}
	r = w5500_offload_lookup(node, service, &h, out, ARRAY_SIZE(out), &n);
	if (r < 0) {
		return eai(-r);
	}
	for (size_t i = 0; i < n; i++) {
		struct zsock_addrinfo *ai = k_heap_alloc(&w5500_ai_heap, sizeof(*ai), K_NO_WAIT);
		w5_sockaddr_in_t *in;

		if (ai == NULL) {
			w5500_freeaddrinfo(head);
			return DNS_EAI_MEMORY;
		}
		memset(ai, 0, sizeof(*ai));
		in = (w5_sockaddr_in_t *)&ai->_ai_addr;
		in->sin_family = W5_AF_INET;
		in->sin_port = w5_htons(out[i].addr.port);
		memcpy(&in->sin_addr, out[i].addr.addr, 4);
		ai->ai_family = W5_AF_INET;
		ai->ai_socktype = out[i].socktype == W5500_RS_SOCK_TYPE_DATAGRAM ? W5_SOCK_DGRAM
										 : W5_SOCK_STREAM;
		ai->ai_protocol =
			ai->ai_socktype == W5_SOCK_DGRAM ? W5_IPPROTO_UDP : W5_IPPROTO_TCP;
		ai->ai_addrlen = sizeof(w5_sockaddr_in_t);
		ai->ai_addr = (w5_sockaddr_t *)in;
		*tail = ai;
		tail = &ai->ai_next;
	}
	*res = head;
	return 0;
}

static const struct socket_dns_offload w5500_dns_ops = {
	.getaddrinfo = w5500_getaddrinfo,
	.freeaddrinfo = w5500_freeaddrinfo,
};

void w5500_offload_dns_init(void)
{
	socket_offload_dns_register(&w5500_dns_ops);
}
#endif /* CONFIG_W5500_OFFLOAD_DNS */

/* --- network interface --------------------------------------------------------------------- */

/* net_if_up/net_if_down (admin state; net_if_up runs at boot unless NET_IF_NO_AUTO_START).
 * Called with the net_if lock held; takes the driver's interface lock (never the reverse).
 */
static int w5500_iface_enable(const struct net_if *iface, bool state)
{
	int r;

	ARG_UNUSED(iface);
	r = w5500_rs_set_enabled(state);
	return r < 0 ? -w5500_offload_errno(-r) : 0;
}

static void w5500_iface_init(struct net_if *iface)
{
	const struct device *dev = net_if_get_device(iface);
	struct w5500_offload_data *d = dev->data;

	d->iface = iface;
	net_if_socket_offload_set(iface, w5500_offload_socket_create);
	net_if_set_link_addr(iface, d->mac, sizeof(d->mac), NET_LINK_ETHERNET);
	/* With NET_NATIVE_IPV4 off nobody else sets it, and the IPv4 setters would fail. */
	net_if_flag_set(iface, NET_IF_IPV4);
	/* Offloaded interfaces start with carrier on; the PHY decides (never "up" without a
	 * cable). The worker turns it on at the first LinkUp event.
	 */
	net_if_carrier_off(iface);
	w5500_offload_ctl_iface_init(d);
#if defined(CONFIG_W5500_OFFLOAD_DNS)
	w5500_offload_dns_init();
#endif
}

static const struct offloaded_if_api w5500_if_api = {
	.iface_api.init = w5500_iface_init,
	.enable = w5500_iface_enable,
};

/* --- device init ------------------------------------------------------------------------- */

static void parse_ipv4(const char *s, uint8_t out[4])
{
	w5_in_addr_t a;

	memset(out, 0, 4);
	if (s != NULL && s[0] != '\0' && net_addr_pton(W5_AF_INET, s, &a) == 0) {
		memcpy(out, &a, 4);
	} else if (s != NULL && s[0] != '\0') {
		LOG_WRN("invalid IPv4 address \"%s\" in Kconfig", s);
	}
}

static int w5500_offload_init(const struct device *dev)
{
	struct w5500_offload_data *d = dev->data;
	const struct w5500_offload_config *cfg = dev->config;
	W5500RsConfig rc = { 0 };
	struct w5500_call call = { 0 };
	int r;

	d->dev = dev;
	d->cfg = cfg;
	k_mutex_init(&d->stack_lock);
	k_mutex_init(&d->iface_lock);
	k_mutex_init(&d->wait_lock);
	k_condvar_init(&d->wait_cv);
	k_sem_init(&d->irq_sem, 0, 1);
	atomic_set(&d->epoch, 0);
	w5500_offload_sockets_init(d);

	if (!spi_is_ready_dt(&cfg->spi)) {
		LOG_ERR("SPI bus %s not ready", cfg->spi.bus->name);
		return -ENODEV;
	}
#if HAS_RESET_GPIO
	if (!gpio_is_ready_dt(&cfg->reset_gpio) ||
	    gpio_pin_configure_dt(&cfg->reset_gpio, GPIO_OUTPUT_INACTIVE) < 0) {
		LOG_ERR("reset-gpios not usable");
		return -ENODEV;
	}
#endif
#if DT_INST_PROP(0, zephyr_random_mac_address) || !DT_INST_NODE_HAS_PROP(0, local_mac_address)
#if defined(CONFIG_ENTROPY_HAS_DRIVER) || defined(CONFIG_TEST_RANDOM_GENERATOR)
	sys_rand_get(d->mac, sizeof(d->mac));
#else
	/* No random source in this image (e.g. rpi_pico has no entropy driver): derive the
	 * address from the cycle counter and boot timing, which differs between boots but is
	 * not random. Give the node a local-mac-address for a stable one.
	 */
	{
		uint32_t a = k_cycle_get_32();
		uint32_t b = (uint32_t)k_uptime_ticks() * 2654435761u;

		memcpy(d->mac, &a, 4);
		memcpy(&d->mac[4], &b, 2);
		LOG_WRN("no entropy source: MAC address from boot timing");
	}
#endif
	d->mac[0] = (d->mac[0] & ~0x01) | 0x02; /* unicast, locally administered */
#else
	memcpy(d->mac, cfg->mac, sizeof(d->mac));
#endif

	rc.ctx = d;
	memcpy(rc.mac, d->mac, sizeof(rc.mac));
	rc.has_int_pin = HAS_INT_GPIO;
	rc.has_reset_pin = HAS_RESET_GPIO;
	rc.poll_interval_ms = HAS_INT_GPIO ? CONFIG_W5500_OFFLOAD_SAFETY_POLL_MS
					   : CONFIG_W5500_OFFLOAD_POLL_INTERVAL_MS;
	rc.reserved_sockets = CONFIG_W5500_OFFLOAD_RESERVED_SOCKETS;
	rc.dhcp = IS_ENABLED(CONFIG_W5500_OFFLOAD_DHCP);
	parse_ipv4(CONFIG_W5500_OFFLOAD_STATIC_IPV4_ADDR, rc.static_ipv4.addr);
	parse_ipv4(CONFIG_W5500_OFFLOAD_STATIC_IPV4_NETMASK, rc.static_ipv4.netmask);
	parse_ipv4(CONFIG_W5500_OFFLOAD_STATIC_IPV4_GATEWAY, rc.static_ipv4.gateway);
#if defined(CONFIG_W5500_OFFLOAD_DNS)
	parse_ipv4(CONFIG_W5500_OFFLOAD_DNS_SERVER1, rc.dns_servers[0]);
	parse_ipv4(CONFIG_W5500_OFFLOAD_DNS_SERVER2, rc.dns_servers[1]);
#endif
#if defined(CONFIG_W5500_OFFLOAD_DHCP)
	/* The template: Rust fills in the MAC ("{}") and sanitises it (RFC 1123). */
	rc.hostname = CONFIG_W5500_OFFLOAD_DHCP_HOSTNAME;
	rc.dhcp_fallback_s = CONFIG_W5500_OFFLOAD_DHCP_FALLBACK_S;
#endif
#if defined(CONFIG_ENTROPY_HAS_DRIVER) || defined(CONFIG_TEST_RANDOM_GENERATOR)
	/* DHCP xids and DNS ids/ports (RFC 5452) want real randomness. */
	sys_rand_get(&rc.seed, sizeof(rc.seed));
#else
	/* No random source in this image: MAC and boot timing (weak; say so). */
	LOG_WRN("no entropy source: DNS ids and ports are predictable");
	memcpy(&rc.seed, d->mac, sizeof(d->mac));
	rc.seed ^= (uint64_t)k_cycle_get_32() << 32;
#endif
	memcpy(rc.tx_buf_kb, cfg->tx_buf_kb, sizeof(rc.tx_buf_kb));
	memcpy(rc.rx_buf_kb, cfg->rx_buf_kb, sizeof(rc.rx_buf_kb));
	rc.log_level = CONFIG_W5500_OFFLOAD_LOG_LEVEL;

	/* The Rust initialisation runs first thing on the worker (see struct w5500_call). */
	call.rc = &rc;
	k_sem_init(&call.done, 0, 1);
	d->worker = &w5500_worker_thread;
	k_thread_create(&w5500_worker_thread, w5500_worker_stack,
			K_KERNEL_STACK_SIZEOF(w5500_worker_stack), w5500_worker, d, &call, NULL,
			CONFIG_W5500_OFFLOAD_WORKER_PRIORITY, 0, K_NO_WAIT);
	k_thread_name_set(&w5500_worker_thread, "w5500");
	k_sem_take(&call.done, K_FOREVER);
	r = call.ret;
	if (r < 0) {
		LOG_ERR("chip init failed: errno %d", w5500_offload_errno(-r));
		return -w5500_offload_errno(-r);
	}

#if HAS_INT_GPIO
	if (!gpio_is_ready_dt(&cfg->int_gpio) ||
	    gpio_pin_configure_dt(&cfg->int_gpio, GPIO_INPUT) < 0) {
		LOG_ERR("int-gpios not usable");
		return -ENODEV;
	}
	gpio_init_callback(&d->int_cb, w5500_int_handler, BIT(cfg->int_gpio.pin));
	if (gpio_add_callback(cfg->int_gpio.port, &d->int_cb) < 0 ||
	    gpio_pin_interrupt_configure_dt(&cfg->int_gpio, GPIO_INT_EDGE_TO_ACTIVE) < 0) {
		LOG_ERR("int-gpios interrupt not usable");
		return -ENODEV;
	}
#endif

	w5500_offload_instance = d;
	d->ready = true;
	return 0;
}

/* Per-socket buffer sizes from devicetree, or 2 KB each (the chip's reset plan). */
#define W5500_BUF_KB(inst, prop)                                                                   \
	COND_CODE_1(DT_INST_NODE_HAS_PROP(inst, prop), (DT_INST_PROP(inst, prop)),                 \
		    ({ 2, 2, 2, 2, 2, 2, 2, 2 }))

#define W5500_OFFLOAD_DEFINE(inst)                                                                 \
	static struct w5500_offload_data w5500_offload_data_##inst;                                \
	static const struct w5500_offload_config w5500_offload_config_##inst = {                   \
		.spi = W5_SPI_DT_SPEC_INST_GET(inst, SPI_WORD_SET(8) | SPI_TRANSFER_MSB),          \
		.int_gpio = GPIO_DT_SPEC_INST_GET_OR(inst, int_gpios, { 0 }),                      \
		.reset_gpio = GPIO_DT_SPEC_INST_GET_OR(inst, reset_gpios, { 0 }),                  \
		.mac = DT_INST_PROP_OR(inst, local_mac_address, { 0 }),                            \
		.tx_buf_kb = W5500_BUF_KB(inst, tx_buffer_sizes_kb),                               \
		.rx_buf_kb = W5500_BUF_KB(inst, rx_buffer_sizes_kb),                               \
	};                                                                                         \
	NET_DEVICE_DT_INST_OFFLOAD_DEFINE(                                                         \
		inst, w5500_offload_init, NULL, &w5500_offload_data_##inst,                        \
		&w5500_offload_config_##inst, CONFIG_W5500_OFFLOAD_INIT_PRIORITY, &w5500_if_api,   \
		NET_ETH_MTU);

DT_INST_FOREACH_STATUS_OKAY(W5500_OFFLOAD_DEFINE)

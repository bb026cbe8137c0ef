/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * @file
 * @brief The ARM EABI memory helpers the Rust library calls, on the libc's memcpy/memmove/
 *        memset.
 *
 * LLVM lowers Rust's copies and clears on Arm to __aeabi_memcpy*, __aeabi_memmove*,
 * __aeabi_memset* and __aeabi_memclr*. Zephyr's minimal libc does not define them, so the Rust
 * archive's compiler_builtins supplied its own, with its own memcpy: 1.4 KB of a second
 * memcpy/memset in the http_client image (qemu_cortex_m3, docs/BENCHMARKS.md "Whole image").
 * Defined here, they are found before the Rust archive is searched. Weak, so that a libc that
 * has its own (newlib, picolibc) keeps them.
 */

#include <stddef.h>
#include <string.h>

#include <zephyr/toolchain.h>

/* RTABI 4.3.4 names; no header declares them. */
void __aeabi_memcpy(void *dest, const void *src, size_t n);
void __aeabi_memcpy4(void *dest, const void *src, size_t n);
void __aeabi_memcpy8(void *dest, const void *src, size_t n);
void __aeabi_memmove(void *dest, const void *src, size_t n);
void __aeabi_memmove4(void *dest, const void *src, size_t n);
void __aeabi_memmove8(void *dest, const void *src, size_t n);
void __aeabi_memset(void *dest, size_t n, int c);
void __aeabi_memset4(void *dest, size_t n, int c);
void __aeabi_memset8(void *dest, size_t n, int c);
void __aeabi_memclr(void *dest, size_t n);
void __aeabi_memclr4(void *dest, size_t n);
void __aeabi_memclr8(void *dest, size_t n);

__weak void __aeabi_memcpy(void *dest, const void *src, size_t n)
{
	memcpy(dest, src, n);
}

__weak void __aeabi_memcpy4(void *dest, const void *src, size_t n)
{
	memcpy(dest, src, n);
}

__weak void __aeabi_memcpy8(void *dest, const void *src, size_t n)
{
	memcpy(dest, src, n);
}

__weak void __aeabi_memmove(void *dest, const void *src, size_t n)
{
	memmove(dest, src, n);
}

__weak void __aeabi_memmove4(void *dest, const void *src, size_t n)
{
	memmove(dest, src, n);
}

__weak void __aeabi_memmove8(void *dest, const void *src, size_t n)
{
	memmove(dest, src, n);
}

/* Note the argument order: length before value (RTABI), unlike memset. */
__weak void __aeabi_memset(void *dest, size_t n, int c)
{
	memset(dest, c, n);
}

__weak void __aeabi_memset4(void *dest, size_t n, int c)
{
	memset(dest, c, n);
}

__weak void __aeabi_memset8(void *dest, size_t n, int c)
{
	memset(dest, c, n);
}

__weak void __aeabi_memclr(void *dest, size_t n)
{
	memset(dest, 0, n);
}

__weak void __aeabi_memclr4(void *dest, size_t n)
{
	memset(dest, 0, n);
}

__weak void __aeabi_memclr8(void *dest, size_t n)
{
	memset(dest, 0, n);
}

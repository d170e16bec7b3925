/* alloc_count: an LD_PRELOAD library that counts malloc, calloc, realloc and free calls (and
 * which return addresses make them) and prints the counts on stderr at exit. bench/allocs.sh
 * builds it; it never changes what the allocator does. Not for production use. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

#define SITES 4096

static _Atomic unsigned long n_malloc, n_calloc, n_realloc, n_free;
static void *_Atomic site_addr[SITES];
static _Atomic unsigned long site_count[SITES];

/* Counts one call from return address ra (first come, first served; the table only grows). */
static void count_site(void *ra)
{
	for (int i = 0; i < SITES; i++) {
		void *seen = atomic_load(&site_addr[i]);
		if (!seen && atomic_compare_exchange_strong(&site_addr[i], &seen, ra))
			seen = ra;
		if (seen == ra) {
			site_count[i]++;
			return;
		}
	}
}

void *malloc(size_t n)
{
	n_malloc++;
	count_site(__builtin_return_address(0));
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	n_calloc++;
	count_site(__builtin_return_address(0));
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	n_realloc++;
	count_site(__builtin_return_address(0));
	return __libc_realloc(p, n);
}

void free(void *p)
{
	if (p) {
		n_free++;
		count_site(__builtin_return_address(0));
	}
	__libc_free(p);
}

/* "allocs malloc M calloc C realloc R free F", then "site <object>+<offset> <count>" per call
 * site (offsets for addr2line). */
__attribute__((destructor)) static void alloc_count_report(void)
{
	char line[512];
	int len =
	    snprintf(line, sizeof(line), "allocs malloc %lu calloc %lu realloc %lu free %lu\n",
		     n_malloc, n_calloc, n_realloc, n_free);
	write(2, line, (size_t)len);
	for (int i = 0; i < SITES && site_addr[i]; i++) {
		Dl_info di = {0};
		dladdr(site_addr[i], &di);
		len = snprintf(
		    line, sizeof(line), "site %s+%#lx %lu\n", di.dli_fname ? di.dli_fname : "?",
		    (unsigned long)((char *)site_addr[i] - (char *)di.dli_fbase), site_count[i]);
		write(2, line, (size_t)len);
	}
}

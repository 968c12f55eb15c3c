/*
 * The native side of vmlab's validation against Linux: a case program performs the same
 * operations as its scenario (validation/NAME.yaml) and prints, at each of the scenario's
 * `expect` steps, the counters that step checks, as the real kernel reports them.
 *
 * vmlab's processes start empty; a real one carries its C library, stack and loader. So
 * the harness reports differences: memory counters (/proc/self/status, /proc/self/maps,
 * /proc/self/smaps_rollup) against a baseline taken before the first operation, and fault
 * counters (getrusage) summed over the operations only (op_begin .. op_end), leaving out the
 * faults the harness itself takes (printing, reading /proc, copy-on-write of its own stack
 * after fork). Output, one line per expect step:
 *   CHECK <n> <counter>=<value> ...
 * with sizes in bytes and counts as they are. Nothing here allocates after vl_init().
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define KiB 1024UL
#define MiB (1024UL * KiB)
#define PAGE 4096UL

struct vl_mem {
	long rss_anon, rss_file, rss_shmem, vm_pte, vm_lck, vm_swap, vm_rss, vm_size, anon_huge, map_count;
};

static struct vl_mem vl_base;
static long vl_minflt, vl_majflt; /* faults inside operations since the process started */
static struct rusage vl_ru0;
static char vl_buf[1 << 16];

static void vl_die(const char *what)
{
	perror(what);
	exit(2);
}

static long vl_read_file(const char *path)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		vl_die(path);
	long n = 0, r;
	while ((r = read(fd, vl_buf + n, sizeof(vl_buf) - 1 - n)) > 0)
		n += r;
	close(fd);
	vl_buf[n] = 0;
	return n;
}

/* The value of "Name:   123 kB" in vl_buf, in bytes. */
static long vl_kb(const char *name)
{
	char *p = strstr(vl_buf, name);
	if (p == NULL)
		return 0;
	return strtol(p + strlen(name), NULL, 10) * (long)KiB;
}

static void vl_mem_now(struct vl_mem *m)
{
	vl_read_file("/proc/self/status");
	m->rss_anon = vl_kb("RssAnon:");
	m->rss_file = vl_kb("RssFile:");
	m->rss_shmem = vl_kb("RssShmem:");
	m->vm_pte = vl_kb("VmPTE:");
	m->vm_lck = vl_kb("VmLck:");
	m->vm_swap = vl_kb("VmSwap:");
	m->vm_rss = vl_kb("VmRSS:");
	m->vm_size = vl_kb("VmSize:");
	vl_read_file("/proc/self/smaps_rollup");
	m->anon_huge = vl_kb("AnonHugePages:");
	long n = vl_read_file("/proc/self/maps"), lines = 0;
	for (long i = 0; i < n; i++)
		lines += vl_buf[i] == '\n';
	m->map_count = lines;
}

static void vl_report(int fd, int n, va_list ap);
static void vl_op_begin(void);
static void vl_op_end(void);

/* Fault in the stack the harness will use, so that its pages are in the baseline. */
static __attribute__((noinline)) void vl_touch_stack(void)
{
	volatile char deep[256 * 1024];
	for (unsigned long i = 0; i < sizeof(deep); i += 4096)
		deep[i] = 0;
}

static void vl_warm(int n, ...)
{
	va_list ap;
	va_start(ap, n);
	int fd = open("/dev/null", O_WRONLY);
	vl_report(fd, n, ap);
	close(fd);
	va_end(ap);
}

/*
 * Map every page of the program's and the C library's code now: the first call of a library
 * function inside an operation (mremap, mlock2, ...) would otherwise fault its code page in,
 * or not, depending on where fault-around happened to land before.
 */
static void vl_prefault_code(void)
{
	long n = vl_read_file("/proc/self/maps");
	for (char *line = vl_buf; line < vl_buf + n;) {
		char *next = memchr(line, '\n', vl_buf + n - line);
		if (next == NULL)
			break;
		unsigned long start, end;
		char perms[5];
		if (sscanf(line, "%lx-%lx %4s", &start, &end, perms) == 3 && perms[0] == 'r' && perms[2] == 'x')
			for (unsigned long a = start; a < end; a += PAGE)
				(void)*(volatile char *)a;
		line = next + 1;
	}
}

/*
 * Call once before the first operation: run every harness path once (its stack, its code and
 * data pages, the C library's), then take the baseline of the memory counters.
 */
static void vl_init(void)
{
	vl_touch_stack();
	vl_prefault_code();
	vl_op_begin();
	vl_op_end();
	vl_warm(0, "min_flt", "maj_flt", "RssAnon", "RssFile", "RssShmem", "VmRSS", "VmSize", "VmPTE", "VmLck", "VmSwap",
		"AnonHugePages", "map_count", NULL);
	vl_minflt = vl_majflt = 0;
	vl_mem_now(&vl_base);
}

static void vl_op_begin(void)
{
	getrusage(RUSAGE_SELF, &vl_ru0);
}

static void vl_op_end(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	vl_minflt += ru.ru_minflt - vl_ru0.ru_minflt;
	vl_majflt += ru.ru_majflt - vl_ru0.ru_majflt;
}

/*
 * After fork, in the child: its fault counters start at zero (copy_process), and the
 * harness's first writes to its stack and data copy them; absorb those outside any operation.
 */
static __attribute__((unused)) void vl_forked_child(void)
{
	vl_minflt = vl_majflt = 0;
	vl_op_begin();
	vl_op_end();
	vl_minflt = vl_majflt = 0;
}

/* In the parent after fork: the same copy-on-write of the harness's own pages, not counted. */
static __attribute__((unused)) void vl_forked_parent(void)
{
	long min = vl_minflt, maj = vl_majflt;
	vl_op_begin();
	vl_op_end();
	vl_minflt = min;
	vl_majflt = maj;
}

static void vl_report(int fd, int n, va_list ap)
{
	struct vl_mem m;
	vl_mem_now(&m);
	char line[1024];
	int len = snprintf(line, sizeof(line), "CHECK %d", n);
	for (const char *c; (c = va_arg(ap, const char *)) != NULL;) {
		long v;
		if (!strcmp(c, "min_flt")) v = vl_minflt;
		else if (!strcmp(c, "maj_flt")) v = vl_majflt;
		else if (!strcmp(c, "RssAnon")) v = m.rss_anon - vl_base.rss_anon;
		else if (!strcmp(c, "RssFile")) v = m.rss_file - vl_base.rss_file;
		else if (!strcmp(c, "RssShmem")) v = m.rss_shmem - vl_base.rss_shmem;
		else if (!strcmp(c, "VmRSS")) v = m.vm_rss - vl_base.vm_rss;
		else if (!strcmp(c, "VmSize")) v = m.vm_size - vl_base.vm_size;
		else if (!strcmp(c, "VmPTE")) v = m.vm_pte - vl_base.vm_pte;
		else if (!strcmp(c, "VmLck")) v = m.vm_lck - vl_base.vm_lck;
		else if (!strcmp(c, "VmSwap")) v = m.vm_swap - vl_base.vm_swap;
		else if (!strcmp(c, "AnonHugePages")) v = m.anon_huge - vl_base.anon_huge;
		else if (!strcmp(c, "map_count")) v = m.map_count - vl_base.map_count;
		else {
			fprintf(stderr, "vl_check: unknown counter %s\n", c);
			exit(2);
		}
		len += snprintf(line + len, sizeof(line) - len, " %s=%ld", c, v);
	}
	line[len++] = '\n';
	if (write(fd, line, len) != len)
		vl_die("write");
}

/* Print check n: the listed counters (names as the scenario writes them), NULL-terminated. */
static void vl_check(int n, ...)
{
	va_list ap;
	va_start(ap, n);
	vl_report(1, n, ap);
	va_end(ap);
}

/* mmap at a fixed address that nothing else maps (MAP_FIXED_NOREPLACE), or die. */
static __attribute__((unused)) char *vl_map(unsigned long addr, unsigned long len, int prot, int flags)
{
	void *p = mmap((void *)addr, len, prot, flags | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED || p != (void *)addr)
		vl_die("mmap");
	return p;
}

/*
 * An unlinked file of `size` bytes in /tmp, written 4 KiB at a time (order-0 page-cache folios:
 * ext4 since 6.16 makes large folios of larger writes, vl_file_chunks) and synced; with
 * `drop`, its pages are dropped from the page cache afterwards. Returns the descriptor.
 */
static __attribute__((unused)) int vl_file(unsigned long size, int drop)
{
	char path[] = "/tmp/vmlab-validate-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		vl_die("mkstemp");
	unlink(path);
	static char chunk[4096];
	memset(chunk, 7, sizeof(chunk));
	for (unsigned long off = 0; off < size; off += sizeof(chunk))
		if (write(fd, chunk, sizeof(chunk)) != (long)sizeof(chunk))
			vl_die("write");
	fsync(fd);
	if (drop && posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) != 0)
		vl_die("fadvise");
	return fd;
}

/*
 * An unlinked file of `size` bytes in /tmp, written `chunk` bytes at a time and synced: ext4
 * (6.16+) makes each aligned chunk of 8 KiB or more a large page-cache folio of up to 2 MiB
 * (fgf_set_order). The buffer is faulted in here, before vl_init. Returns the descriptor.
 */
static __attribute__((unused)) int vl_file_chunks(unsigned long size, unsigned long chunk)
{
	char path[] = "/tmp/vmlab-validate-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		vl_die("mkstemp");
	unlink(path);
	char *buf = mmap(NULL, chunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		vl_die("mmap");
	memset(buf, 7, chunk);
	for (unsigned long off = 0; off < size; off += chunk)
		if (write(fd, buf, chunk) != (long)chunk)
			vl_die("write");
	munmap(buf, chunk);
	fsync(fd);
	return fd;
}

/* The parent waits for its child, which must have exited with status 0. */
static __attribute__((unused)) void vl_wait(pid_t pid)
{
	int status;
	if (waitpid(pid, &status, 0) != pid || status != 0)
		vl_die("child");
}

static __attribute__((unused)) void vl_write_pages(char *p, unsigned long len)
{
	vl_op_begin();
	for (unsigned long i = 0; i < len; i += PAGE)
		((volatile char *)p)[i] = 1;
	vl_op_end();
}

static __attribute__((unused)) long vl_read_pages(char *p, unsigned long len)
{
	long sum = 0;
	vl_op_begin();
	for (unsigned long i = 0; i < len; i += PAGE)
		sum += ((volatile char *)p)[i];
	vl_op_end();
	return sum;
}

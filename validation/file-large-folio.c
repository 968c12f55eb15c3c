/* Native side of file-large-folio.yaml. */
#include "native.h"

static char *map_file(unsigned long addr, unsigned long len, int fd)
{
	void *p = mmap((void *)addr, len, PROT_READ, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
	if (p != (void *)addr)
		vl_die("mmap");
	return p;
}

int main(void)
{
	int big = vl_file_chunks(8 * MiB, 2 * MiB);
	int small = vl_file_chunks(1 * MiB, 256 * KiB);
	vl_init();
	char *a = map_file(0x200000000000UL, 8 * MiB, big);
	vl_read_pages(a, 8 * MiB);
	vl_check(0, "min_flt", "maj_flt", "RssFile", NULL);
	char *b = map_file(0x300000000000UL, 1 * MiB, big);
	vl_read_pages(b, 1 * MiB);
	vl_check(1, "min_flt", "maj_flt", "RssFile", NULL);
	char *c = map_file(0x400000000000UL, PAGE, small);
	vl_read_pages(c, PAGE);
	vl_check(2, "min_flt", "maj_flt", "RssFile", NULL);
	vl_op_begin();
	if (posix_fadvise(small, 0, 0, POSIX_FADV_DONTNEED) != 0)
		vl_die("fadvise");
	vl_op_end();
	char *d = map_file(0x500000000000UL, 1 * MiB, small);
	if (madvise(d, 1 * MiB, MADV_RANDOM) != 0)
		vl_die("madvise");
	vl_read_pages(d, 1 * MiB);
	vl_check(3, "min_flt", "maj_flt", "RssFile", NULL);
	return 0;
}

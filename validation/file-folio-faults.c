/* Native side of file-folio-faults.yaml. */
#include "native.h"

static char *map_file(unsigned long addr, unsigned long len, int fd, int prot, int flags)
{
	void *p = mmap((void *)addr, len, prot, flags | MAP_FIXED_NOREPLACE, fd, 0);
	if (p != (void *)addr)
		vl_die("mmap");
	return p;
}

#define CHECK(n) vl_check(n, "min_flt", "maj_flt", "RssFile", "RssAnon", NULL)

int main(void)
{
	int f = vl_file_chunks(256 * KiB, 256 * KiB);
	int g = vl_file_chunks(256 * KiB, 256 * KiB);
	int h = vl_file_chunks(2 * MiB, 2 * MiB);
	vl_init();
	vl_op_begin();
	if (ftruncate(h, 1 * MiB) != 0)
		vl_die("ftruncate");
	vl_op_end();
	char *a = map_file(0x200000000000UL, 1 * MiB, h, PROT_READ, MAP_SHARED);
	vl_read_pages(a, 1 * MiB);
	CHECK(0);
	char *b = map_file(0x600000040000UL, 256 * KiB, g, PROT_READ, MAP_SHARED);
	vl_read_pages(b, PAGE);
	CHECK(1);
	char *c = map_file(0x600000000000UL, 256 * KiB, f, PROT_READ | PROT_WRITE, MAP_SHARED);
	vl_read_pages(c + 20 * PAGE, PAGE);
	CHECK(2);
	vl_write_pages(c + 40 * PAGE, PAGE);
	CHECK(3);
	char *d = map_file(0x700000000000UL, 256 * KiB, f, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	vl_write_pages(d + 20 * PAGE, PAGE);
	CHECK(4);
	vl_read_pages(d + 40 * PAGE, PAGE);
	CHECK(5);
	char *e = map_file(0x780000000000UL, 256 * KiB, g, PROT_READ | PROT_WRITE, MAP_SHARED);
	vl_write_pages(e + 5 * PAGE, PAGE);
	CHECK(6);
	vl_write_pages(e, 256 * KiB);
	CHECK(7);
	return 0;
}

/* Native side of file-private.yaml. */
#include "native.h"

int main(void)
{
	int fd = vl_file(16 * MiB, 0);
	vl_init();
	char *p = mmap((void *)0x200000000000UL, 16 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED_NOREPLACE, fd, 0);
	if (p != (void *)0x200000000000UL)
		vl_die("mmap");
	vl_read_pages(p, 16 * MiB);
	vl_check(0, "min_flt", "maj_flt", "RssFile", "RssAnon", "VmPTE", NULL);
	vl_write_pages(p, 16 * MiB);
	vl_check(1, "min_flt", "maj_flt", "RssFile", "RssAnon", "VmPTE", NULL);
	return 0;
}

/* Native side of file-major.yaml. */
#include "native.h"

int main(void)
{
	int fd = vl_file(4 * MiB, 1);
	vl_init();
	char *p = mmap((void *)0x200000000000UL, 4 * MiB, PROT_READ, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
	if (p != (void *)0x200000000000UL)
		vl_die("mmap");
	if (madvise(p, 4 * MiB, MADV_RANDOM) != 0)
		vl_die("madvise");
	vl_read_pages(p, 1 * MiB);
	vl_check(0, "min_flt", "maj_flt", "RssFile", NULL);
	vl_read_pages(p, 1 * MiB);
	vl_check(1, "min_flt", "maj_flt", "RssFile", NULL);
	return 0;
}

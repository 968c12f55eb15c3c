/* Native side of anon-read-write.yaml. */
#include "native.h"

int main(void)
{
	vl_init();
	char *p = vl_map(0x200000000000UL, 16 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
	madvise(p, 16 * MiB, MADV_NOHUGEPAGE);
	vl_read_pages(p, 16 * MiB);
	vl_check(0, "min_flt", "RssAnon", "VmPTE", NULL);
	vl_write_pages(p, 16 * MiB);
	vl_check(1, "min_flt", "RssAnon", "VmPTE", NULL);
	return 0;
}

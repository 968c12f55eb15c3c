/* Native side of anon-write.yaml. */
#include "native.h"

int main(void)
{
	vl_init();
	char *p = vl_map(0x200000000000UL, 64 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
	madvise(p, 64 * MiB, MADV_NOHUGEPAGE);
	vl_check(0, "min_flt", "RssAnon", "VmPTE", "map_count", NULL);
	vl_write_pages(p, 64 * MiB);
	vl_check(1, "min_flt", "RssAnon", "VmRSS", "VmPTE", "map_count", NULL);
	munmap(p, 64 * MiB);
	vl_check(2, "RssAnon", "VmPTE", "map_count", NULL);
	return 0;
}

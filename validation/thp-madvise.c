/* Native side of thp-madvise.yaml: needs THP enabled as `madvise` or `always`. */
#include "native.h"

int main(void)
{
	vl_init();
	char *p = vl_map(0x200000000000UL, 64 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
	if (madvise(p, 64 * MiB, MADV_HUGEPAGE) != 0)
		vl_die("madvise");
	vl_write_pages(p, 64 * MiB);
	vl_check(0, "min_flt", "RssAnon", "AnonHugePages", "VmPTE", NULL);
	return 0;
}

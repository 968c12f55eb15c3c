/* Native side of thp-split.yaml: needs THP enabled as `madvise` or `always`. */
#include "native.h"

int main(void)
{
	vl_init();
	char *p = vl_map(0x200000000000UL, 8 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
	if (madvise(p, 8 * MiB, MADV_HUGEPAGE) != 0)
		vl_die("madvise");
	vl_write_pages(p, 8 * MiB);
	vl_check(0, "min_flt", "AnonHugePages", "VmPTE", "VmSize", NULL);
	vl_op_begin();
	munmap(p + 1 * MiB, 4 * KiB);
	vl_op_end();
	vl_check(1, "RssAnon", "AnonHugePages", "VmPTE", "VmSize", "map_count", NULL);
	vl_op_begin();
	mprotect(p + 2 * MiB + 512 * KiB, 1 * MiB, PROT_READ);
	vl_op_end();
	vl_check(2, "RssAnon", "AnonHugePages", "VmPTE", "map_count", NULL);
	vl_op_begin();
	madvise(p + 4 * MiB, 64 * KiB, MADV_DONTNEED);
	vl_op_end();
	vl_check(3, "RssAnon", "AnonHugePages", "VmPTE", "map_count", NULL);
	vl_write_pages(p + 4 * MiB, 2 * MiB);
	vl_check(4, "min_flt", "RssAnon", "AnonHugePages", NULL);
	return 0;
}

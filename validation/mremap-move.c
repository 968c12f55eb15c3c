/* Native side of mremap-move.yaml. */
#include "native.h"

int main(void)
{
	vl_init();
	char *p = vl_map(0x200000000000UL, 8 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
	madvise(p, 8 * MiB, MADV_NOHUGEPAGE);
	vl_write_pages(p, 8 * MiB);
	vl_op_begin();
	char *q = mremap(p, 8 * MiB, 8 * MiB, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)0x300000000000UL);
	vl_op_end();
	if (q != (void *)0x300000000000UL)
		vl_die("mremap");
	vl_read_pages(q, 8 * MiB);
	vl_check(0, "min_flt", "RssAnon", "VmPTE", "map_count", NULL);
	return 0;
}

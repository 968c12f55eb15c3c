/* Native side of mprotect-merge.yaml. */
#include "native.h"

int main(void)
{
	vl_init();
	char *p = vl_map(0x200000000000UL, 64 * KiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
	vl_write_pages(p, 64 * KiB);
	vl_check(0, "min_flt", "map_count", NULL);
	vl_op_begin();
	mprotect(p + 16 * KiB, 16 * KiB, PROT_READ);
	vl_op_end();
	vl_check(1, "map_count", NULL);
	vl_op_begin();
	mprotect(p + 16 * KiB, 16 * KiB, PROT_READ | PROT_WRITE);
	vl_op_end();
	vl_check(2, "map_count", NULL);
	vl_write_pages(p, 64 * KiB);
	vl_check(3, "min_flt", "RssAnon", "map_count", NULL);
	return 0;
}

/* Native side of populate-mlock.yaml. THP is off for both ranges (prctl). */
#include "native.h"
#include <sys/prctl.h>

int main(void)
{
	prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
	vl_init();
	vl_op_begin();
	char *pop = vl_map(0x200000000000UL, 4 * MiB, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE);
	vl_op_end();
	(void)pop;
	vl_check(0, "min_flt", "RssAnon", "VmLck", NULL);
	char *lck = vl_map(0x200001000000UL, 4 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
	vl_op_begin();
	if (mlock(lck, 4 * MiB) != 0)
		vl_die("mlock");
	vl_op_end();
	vl_check(1, "min_flt", "RssAnon", "VmLck", "map_count", NULL);
	vl_op_begin();
	munlock(lck, 4 * MiB);
	vl_op_end();
	vl_check(2, "min_flt", "RssAnon", "VmLck", "map_count", NULL);
	return 0;
}

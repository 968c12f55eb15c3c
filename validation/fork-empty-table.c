/* Native side of fork-empty-table.yaml. THP is off for the process (prctl). */
#include "native.h"
#include <sys/prctl.h>

int main(void)
{
	prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
	vl_init();
	char *p = vl_map(0x200000000000UL, 4 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
	vl_write_pages(p, 4 * MiB);
	vl_check(0, "min_flt", "VmPTE", NULL);
	vl_op_begin();
	if (madvise(p + 2 * MiB, 2 * MiB, MADV_FREE) != 0)
		vl_die("madvise");
	if (madvise(p + 2 * MiB, 2 * MiB, MADV_PAGEOUT) != 0)
		vl_die("madvise");
	vl_op_end();
	vl_check(1, "RssAnon", "VmPTE", NULL);
	pid_t pid = fork();
	if (pid < 0)
		vl_die("fork");
	if (pid == 0) {
		vl_forked_child();
		vl_check(2, "RssAnon", "VmPTE", NULL);
		_exit(0);
	}
	vl_wait(pid);
	return 0;
}

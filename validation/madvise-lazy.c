/* Native side of madvise-lazy.yaml. THP is off for the process (prctl). */
#include "native.h"
#include <sys/prctl.h>

int main(void)
{
	prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
	vl_init();
	char *f = vl_map(0x200000000000UL, 8 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
	vl_write_pages(f, 8 * MiB);
	vl_op_begin();
	if (madvise(f, 8 * MiB, MADV_FREE) != 0)
		vl_die("madvise");
	vl_op_end();
	vl_check(0, "min_flt", "RssAnon", NULL);
	vl_write_pages(f, 8 * MiB);
	vl_check(1, "min_flt", "RssAnon", NULL);
	char *w = vl_map(0x300000000000UL, 4 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
	madvise(w, 4 * MiB, MADV_WIPEONFORK);
	vl_write_pages(w, 4 * MiB);
	char *l = vl_map(0x400000000000UL, 4 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
	vl_op_begin();
	if (mlock2(l, 4 * MiB, MLOCK_ONFAULT) != 0)
		vl_die("mlock2");
	vl_op_end();
	vl_check(2, "min_flt", "RssAnon", "VmLck", NULL);
	vl_write_pages(l, 1 * MiB);
	vl_check(3, "min_flt", "RssAnon", "VmLck", "VmPTE", NULL);
	pid_t pid = fork();
	if (pid < 0)
		vl_die("fork");
	if (pid == 0) {
		vl_forked_child();
		vl_check(4, "RssAnon", "VmLck", "VmPTE", NULL);
		vl_read_pages(w, 4 * MiB);
		vl_check(5, "min_flt", "RssAnon", NULL);
		_exit(0);
	}
	vl_wait(pid);
	return 0;
}

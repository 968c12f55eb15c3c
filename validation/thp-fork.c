/* Native side of thp-fork.yaml: needs THP enabled as `madvise` or `always`. */
#include "native.h"

int main(void)
{
	vl_init();
	char *p = vl_map(0x200000000000UL, 4 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
	if (madvise(p, 4 * MiB, MADV_HUGEPAGE) != 0)
		vl_die("madvise");
	vl_write_pages(p, 4 * MiB);
	vl_check(0, "min_flt", "AnonHugePages", "VmPTE", NULL);
	pid_t pid = fork();
	if (pid < 0)
		vl_die("fork");
	if (pid == 0) {
		vl_forked_child();
		vl_check(1, "AnonHugePages", "RssAnon", "VmPTE", NULL);
		vl_write_pages(p, 4096);
		vl_check(2, "min_flt", "AnonHugePages", "RssAnon", "VmPTE", NULL);
		vl_write_pages(p + 2 * MiB, 2 * MiB);
		vl_check(3, "min_flt", "AnonHugePages", "RssAnon", "VmPTE", NULL);
		_exit(0);
	}
	vl_wait(pid);
	vl_forked_parent();
	vl_check(4, "min_flt", "AnonHugePages", "RssAnon", NULL);
	vl_write_pages(p, 4 * MiB);
	vl_check(5, "min_flt", "AnonHugePages", "RssAnon", NULL);
	return 0;
}

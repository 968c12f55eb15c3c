/* Native side of fork-cow.yaml. */
#include "native.h"

int main(void)
{
	vl_init();
	char *p = vl_map(0x200000000000UL, 16 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
	madvise(p, 16 * MiB, MADV_NOHUGEPAGE);
	vl_write_pages(p, 16 * MiB);
	pid_t pid = fork();
	if (pid < 0)
		vl_die("fork");
	if (pid == 0) {
		vl_forked_child();
		vl_check(0, "min_flt", "RssAnon", "VmPTE", NULL);
		vl_write_pages(p, 4 * MiB);
		vl_check(1, "min_flt", "RssAnon", NULL);
		_exit(0);
	}
	vl_wait(pid);
	vl_forked_parent();
	vl_check(2, "min_flt", "RssAnon", NULL);
	vl_write_pages(p, 16 * MiB);
	vl_check(3, "min_flt", "RssAnon", "VmPTE", NULL);
	return 0;
}

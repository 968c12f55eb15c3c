/* Native side of shared-anon.yaml. */
#include "native.h"

int main(void)
{
	vl_init();
	char *p = vl_map(0x200000000000UL, 8 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
	vl_write_pages(p, 8 * MiB);
	vl_check(0, "min_flt", "RssShmem", "RssAnon", "VmRSS", NULL);
	pid_t pid = fork();
	if (pid < 0)
		vl_die("fork");
	if (pid == 0) {
		vl_forked_child();
		vl_check(1, "RssShmem", NULL);
		vl_read_pages(p, 8 * MiB);
		vl_check(2, "min_flt", "RssShmem", "RssAnon", NULL);
		_exit(0);
	}
	vl_wait(pid);
	return 0;
}

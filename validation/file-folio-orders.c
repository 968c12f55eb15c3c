/* Native side of file-folio-orders.yaml. */
#include "native.h"

int main(void)
{
	char path[] = "/tmp/vmlab-validate-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		vl_die("mkstemp");
	unlink(path);
	static char buf[64 * KiB];
	memset(buf, 7, sizeof(buf));
	if (write(fd, buf, 4 * KiB) != 4 * KiB || write(fd, buf, 64 * KiB) != 64 * KiB)
		vl_die("write");
	fsync(fd);
	vl_init();
	char *p = mmap((void *)0x200000000000UL, 68 * KiB, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
	if (p != (void *)0x200000000000UL)
		vl_die("mmap");
	vl_write_pages(p, 68 * KiB);
	vl_check(0, "min_flt", "maj_flt", "RssFile", NULL);
	return 0;
}

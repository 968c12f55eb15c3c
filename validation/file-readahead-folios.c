/* Native side of file-readahead-folios.yaml. */
#include "native.h"

int main(void)
{
	int fd = vl_file(8 * MiB, 1);
	static char buf[64 * KiB];
	memset(buf, 1, sizeof(buf)); /* fault the buffer in before the baseline */
	if (lseek(fd, 0, SEEK_SET) != 0)
		vl_die("lseek");
	vl_init();
	vl_op_begin();
	for (unsigned long off = 0; off < 8 * MiB; off += sizeof(buf))
		if (read(fd, buf, sizeof(buf)) != (long)sizeof(buf))
			vl_die("read");
	vl_op_end();
	char *p = mmap((void *)0x200000000000UL, 8 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
	if (p != (void *)0x200000000000UL)
		vl_die("mmap");
	vl_write_pages(p, 8 * MiB);
	vl_check(0, "min_flt", "maj_flt", "RssFile", NULL);
	return 0;
}

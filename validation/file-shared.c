/* Native side of file-shared.yaml. */
#include "native.h"

int main(void)
{
	char path[] = "/tmp/vmlab-validate-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		vl_die("mkstemp");
	unlink(path);
	/* 4 KiB writes: order-0 page-cache folios, as vmlab models them (ext4 since 6.16 makes
	 * large folios of larger writes, and a fault then maps a whole folio). */
	static char chunk[4096];
	memset(chunk, 7, sizeof(chunk));
	for (unsigned long off = 0; off < 16 * MiB; off += sizeof(chunk))
		if (write(fd, chunk, sizeof(chunk)) != (long)sizeof(chunk))
			vl_die("write");
	fsync(fd);
	vl_init();
	char *p = mmap((void *)0x200000000000UL, 16 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
	if (p != (void *)0x200000000000UL)
		vl_die("mmap");
	vl_write_pages(p, 16 * MiB);
	vl_check(0, "min_flt", "maj_flt", "RssFile", "RssAnon", NULL);
	vl_op_begin();
	if (msync(p, 16 * MiB, MS_SYNC) != 0)
		vl_die("msync");
	vl_op_end();
	vl_write_pages(p, 16 * MiB);
	vl_check(1, "min_flt", "maj_flt", "RssFile", "RssAnon", NULL);
	return 0;
}

/* Native side of file-major.yaml. */
#include "native.h"

int main(void)
{
	char path[] = "/tmp/vmlab-validate-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		vl_die("mkstemp");
	unlink(path);
	static char chunk[4096];
	memset(chunk, 7, sizeof(chunk));
	for (unsigned long off = 0; off < 4 * MiB; off += sizeof(chunk))
		if (write(fd, chunk, sizeof(chunk)) != (long)sizeof(chunk))
			vl_die("write");
	fsync(fd);
	if (posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) != 0)
		vl_die("fadvise");
	vl_init();
	char *p = mmap((void *)0x200000000000UL, 4 * MiB, PROT_READ, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
	if (p != (void *)0x200000000000UL)
		vl_die("mmap");
	if (madvise(p, 4 * MiB, MADV_RANDOM) != 0)
		vl_die("madvise");
	vl_read_pages(p, 1 * MiB);
	vl_check(0, "min_flt", "maj_flt", "RssFile", NULL);
	vl_read_pages(p, 1 * MiB);
	vl_check(1, "min_flt", "maj_flt", "RssFile", NULL);
	return 0;
}

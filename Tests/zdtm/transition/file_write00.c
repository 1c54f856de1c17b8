/* Keeps appending checksummed blocks to a file while it is dumped; afterwards the file must hold
 * exactly the blocks written, in order, and the offset must be at their end. */
#include "zdtmtst.h"
#include <fcntl.h>
#include <time.h>

#define BLK 4096

int main(int argc, char **argv)
{
	static char buf[BLK];
	uint32_t blocks = 0;
	test_init(argc, argv);
	if (!zdtm_filename)
		fail("needs --filename");
	int fd = open(zdtm_filename, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		pr_perror("open %s", zdtm_filename);
	test_daemon();
	while (test_go()) {
		datagen(buf, BLK, blocks + 1);
		if (write_all(fd, buf, BLK))
			pr_perror("write block %u", blocks);
		blocks++;
		if (blocks % 64 == 0) {
			/* Keep the file bounded: start over after 16 MiB. */
			if (blocks == 4096) {
				if (ftruncate(fd, 0) || lseek(fd, 0, SEEK_SET))
					pr_perror("truncate");
				blocks = 0;
			}
			struct timespec ts = { 0, 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
	}
	if (lseek(fd, 0, SEEK_CUR) != (off_t)blocks * BLK)
		fail("offset %lld, want %lld", (long long)lseek(fd, 0, SEEK_CUR), (long long)blocks * BLK);
	for (uint32_t i = 0; i < blocks; i++) {
		if (pread(fd, buf, BLK, (off_t)i * BLK) != BLK)
			fail("block %u is missing", i);
		if (datachk(buf, BLK, i + 1))
			fail("block %u is corrupted", i);
	}
	test_msg("%u blocks", blocks);
	pass();
}

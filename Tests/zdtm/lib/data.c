/* Deterministic data and full-length I/O. */
#include "zdtmtst.h"

/* xorshift32: cheap and the same everywhere, which is all a self-check needs. */
static uint32_t next(uint32_t *s)
{
	uint32_t x = *s ? *s : 0x9e3779b9u;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

void datagen(void *buf, size_t len, uint32_t seed)
{
	uint8_t *p = buf;
	uint32_t s = seed;
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(next(&s) >> 24);
}

int datachk(const void *buf, size_t len, uint32_t seed)
{
	const uint8_t *p = buf;
	uint32_t s = seed;
	for (size_t i = 0; i < len; i++)
		if (p[i] != (uint8_t)(next(&s) >> 24)) {
			test_msg("data mismatch at offset %zu (seed %u)", i, seed);
			return -1;
		}
	return 0;
}

uint32_t zdtm_crc32(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t crc = ~0u;
	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1));
	}
	return ~crc;
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	while (len) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

int fd_fill(int fd, size_t len, uint32_t seed)
{
	char *buf = malloc(len ? len : 1);
	if (!buf)
		return -1;
	datagen(buf, len, seed);
	int ret = write_all(fd, buf, len);
	free(buf);
	return ret;
}

int fd_check(int fd, size_t len, uint32_t seed)
{
	char *buf = malloc(len ? len : 1);
	if (!buf)
		return -1;
	int ret = read_all(fd, buf, len);
	if (ret == 0)
		ret = datachk(buf, len, seed);
	free(buf);
	return ret;
}

/* SysV shared memory (attached, with data), a semaphore set and a message queue with messages, in the
 * test's private IPC namespace (flavors ns/uns). */
#include "zdtmtst.h"
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

#define SHM_LEN (5 * 4096)
struct msg { long type; char text[64]; };

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int shm = shmget(0x5a5a, SHM_LEN, IPC_CREAT | IPC_EXCL | 0600);
	int sem = semget(0x5b5b, 3, IPC_CREAT | IPC_EXCL | 0600);
	int mq = msgget(0x5c5c, IPC_CREAT | IPC_EXCL | 0600);
	if (shm < 0 || sem < 0 || mq < 0)
		pr_perror("create ipc objects");
	char *p = shmat(shm, NULL, 0);
	if (p == (void *)-1)
		pr_perror("shmat");
	datagen(p, SHM_LEN, 77);
	unsigned short vals[3] = { 5, 0, 9 };
	if (semctl(sem, 0, SETALL, vals))
		pr_perror("semctl SETALL");
	for (int i = 1; i <= 3; i++) {
		struct msg m = { .type = i };
		snprintf(m.text, sizeof(m.text), "message %d", i);
		if (msgsnd(mq, &m, sizeof(m.text), 0))
			pr_perror("msgsnd");
	}
	test_daemon();
	test_waitsig();
	if (datachk(p, SHM_LEN, 77))
		fail("shared memory data changed");
	unsigned short got[3];
	if (semctl(sem, 0, GETALL, got) || got[0] != 5 || got[1] != 0 || got[2] != 9)
		fail("semaphore values changed");
	for (int i = 1; i <= 3; i++) {
		struct msg m;
		char want[64];
		if (msgrcv(mq, &m, sizeof(m.text), 0, IPC_NOWAIT) < 0)
			fail("message %d lost", i);
		snprintf(want, sizeof(want), "message %d", i);
		if (m.type != i || strcmp(m.text, want))
			fail("message %d is type %ld '%s'", i, m.type, m.text);
	}
	shmdt(p);
	shmctl(shm, IPC_RMID, NULL);
	semctl(sem, 0, IPC_RMID);
	msgctl(mq, IPC_RMID, NULL);
	pass();
}

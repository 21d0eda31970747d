/*
 * http_deadline_test - the per-connection request deadline (gateway/http/http_deadline.c)
 *
 * Socket pairs stand for connections: a slot whose request never arrives has its
 * socket shut down (the peer reads end of stream) after the deadline; a slot whose
 * request has arrived is left alone; a restarted slot gets the time again. Every
 * wait is bounded; nothing asserts how fast.
 */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "gateway/http/http_deadline.h"

/* peer_closed - 1 when the other end of the pair reads end of stream within ms */
static int
peer_closed(int fd, int ms)
{
    struct pollfd p = { fd, POLLIN, 0 };
    char c;

    if (poll(&p, 1, ms) <= 0)
        return 0;
    return recv(fd, &c, 1, MSG_DONTWAIT) == 0;
}

/* cut_count - the deadline's count of cut connections once it reaches want, or what it is
 * after 5 s: the sweep shuts a connection down before it adds it to the count, so the peer
 * can read end of stream a moment before the count says so */
static long long
cut_count(http_deadline_t *d, long long want)
{
    int i;

    for (i = 0; i < 500 && (long long)http_deadline_cut(d) < want; i++)
        poll(NULL, 0, 10);
    return (long long)http_deadline_cut(d);
}

static void
test_incomplete_request_is_cut_received_is_not(void **state)
{
    char err[128];
    http_deadline_t *d = http_deadline_new(1, err, sizeof err);
    int slow[2], done[2];
    http_deadline_slot_t *s_slow, *s_done;

    (void)state;
    assert_non_null(d);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, slow), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, done), 0);
    s_slow = http_deadline_open(d, slow[0]);
    s_done = http_deadline_open(d, done[0]);
    assert_non_null(s_slow);
    assert_non_null(s_done);
    http_deadline_received(s_done);
    /* one second of deadline, sweeps every quarter second: cut well within ten */
    assert_true(peer_closed(slow[1], 10000));
    assert_int_equal(cut_count(d, 1), 1);
    assert_false(peer_closed(done[1], 1500));
    /* the answer went out: the next request on that connection has the deadline again */
    http_deadline_restart(s_done);
    assert_true(peer_closed(done[1], 10000));
    assert_int_equal(cut_count(d, 2), 2);
    http_deadline_close(d, s_slow);
    http_deadline_close(d, s_done);
    http_deadline_close(d, NULL);
    http_deadline_destroy(&d);
    assert_null(d);
    close(slow[0]);
    close(slow[1]);
    close(done[0]);
    close(done[1]);
}

static void
test_destroy_frees_open_slots(void **state)
{
    char err[128];
    http_deadline_t *d = http_deadline_new(30, err, sizeof err);
    int fds[2];

    (void)state;
    assert_non_null(d);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    assert_non_null(http_deadline_open(d, fds[0]));
    http_deadline_destroy(&d); /* LeakSanitizer checks the slot went with it */
    close(fds[0]);
    close(fds[1]);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_incomplete_request_is_cut_received_is_not),
        cmocka_unit_test(test_destroy_frees_open_slots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

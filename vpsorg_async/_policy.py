"""Policy numbers, in one place, each with the reason for its value."""

from __future__ import annotations

#: Where the real API lives.
DEFAULT_BASE_URL = "https://admin.vps.org/api/v1"
#: A whole call, retries and backoff sleeps included. Long enough for two retries after slow
#: answers, short enough that a stuck call does not hang a bot.
DEFAULT_TIMEOUT = 60.0
#: Two retries ride out a blip or a 429 without hiding an outage (openai-python uses 2 as well).
DEFAULT_MAX_RETRIES = 2
#: Opening a TCP/TLS connection should never take longer; a connect failure is retried.
CONNECT_TIMEOUT = 10.0
#: First backoff step and its cap in seconds; full jitter draws uniformly below the step.
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 8.0
#: A Retry-After beyond this is treated as this: we would rather fail within the deadline.
RETRY_AFTER_CAP = 60.0
#: Statuses worth a retry: the server or a proxy failed transiently.
RETRY_STATUSES = frozenset({500, 502, 503, 504})
#: A failure that repeats (same kind, same error) is logged once per this many seconds: a dead API
#: fails every attempt alike, and one line per attempt would bury the one line worth reading.
LOG_REPEAT_INTERVAL = 10.0
#: aiohttp's own default; enough parallel connections for a fleet of bounded tasks.
DEFAULT_MAX_CONNECTIONS = 100
#: A list of 10,000 servers is about 5 MB; anything far bigger is not an answer we want in memory.
#: The default of ``Client(max_response_bytes=)``, and the cap of a list page.
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
#: A single server's answer (detail, create, update, action) is about 1 KB: 1,000 times that is
#: plenty, and parsing even the most hostile 1 MiB of JSON costs no more than about 35 MiB.
ANSWER_BYTES = 1024 * 1024
#: An error body is read up to here and no further: a DRF error is under 1 KB, a proxy's HTML
#: error page some tens of KB, and a message only quotes a short excerpt of it anyway.
ERROR_BODY_BYTES = 64 * 1024
#: Longest ``str()`` of an error; the full data stays on its attributes (``detail``, ...).
MESSAGE_CHARS = 2000
#: How much of aiohttp's message a connection error quotes: a TLS verification failure, the
#: longest usual one, is about 200 characters.
WIRE_MESSAGE_CHARS = 400
#: An attempt's deadline is rounded up to this many seconds so that the attempts due within one
#: such step share one loop timer (``_attempt_timer``); a deadline may therefore pass by at most this
#: much. Finer steps would mean more timers, up to one per request, for no caller's benefit.
TIMEOUT_GRAIN = 0.01
#: Environment variables read when the arguments are not given.
TOKEN_ENV = "VPSORG_API_TOKEN"
BASE_URL_ENV = "VPSORG_BASE_URL"
#: ``debug``, ``info``, ``warning`` or ``error``: a stderr log at that level (``_logenv``).
LOG_ENV = "VPSORG_LOG"
#: A deadline further away than this (about 30 years) is no deadline: aiohttp's timer and float
#: arithmetic cannot hold ``math.inf`` or ``1e308`` seconds.
UNBOUNDED_TIMEOUT = 1e9
#: A walk over list pages stops after this many pages: a 100,000-server account at ten per page.
#: A longer ``next`` chain is a broken or hostile API, not an account.
MAX_LIST_PAGES = 10_000
#: A walk may read this many more servers than the first page's ``count`` promised: servers
#: created while it reads shift the pages. Past that the ``next`` chain is not the list it claimed.
LIST_COUNT_SLACK = 100

# -- waiting and fleets (``waiters``, ``fleet``) --------------------------------------------------
#: A wait's overall deadline. Provisioning takes 2-5 minutes on the real service; start, stop
#: and reboot take seconds. Ten minutes covers a slow provision with room to spare.
DEFAULT_WAIT_TIMEOUT = 600.0
#: The first pause between polls: start/stop/reboot usually finish within a few seconds.
DEFAULT_POLL_INTERVAL = 1.0
#: How much each tick's age grows over the last one's when many servers share one poller
#: (fleets, ``wait_many``): a pause is 0.4 of the time waited since the last server joined (at
#: least ``poll_interval``), so a state change is seen by 1.4x the time it took, and still by
#: 1.5x once the tick's own sweep of the list is counted (a pause that doubles allows about 2x).
#: It costs some more ticks: cheap, since a shared tick is one list request.
SHARED_POLL_GROWTH = 1.4
#: The same for a single waiter, whose every poll is a GET of its own: doubling halves the
#: requests of a long wait, which matters when thousands of waiters each poll alone.
SINGLE_POLL_GROWTH = 2.0
#: The cap of the exponential schedule: a provision is still seen within 15 s of finishing
#: while a long wait costs at most 4 polls a minute.
DEFAULT_MAX_POLL_INTERVAL = 15.0
#: Requests in flight at once for fleets and per-server polling: enough to keep a fleet of
#: thousands moving, far below aiohttp's 100 connections and any sane provider limit.
DEFAULT_CONCURRENCY = 16
#: A whole fleet call, requests and waits included: 15 minutes lets a large fleet provision
#: (2-5 minutes each on the real service) through a bounded pool and a rate limit.
DEFAULT_FLEET_TIMEOUT = 900.0
#: A poll made at (or just before) the deadline still gets this long to answer; it is the one
#: last look the deadline promises, so a wait can end at most this much after its deadline.
#: Enough for a loopback or LAN answer, and small enough that ``timeout`` stays exact to 0.1 s.
MIN_POLL_TIMEOUT = 0.05
#: A list walk (a sweep, a fleet's lookup) reads at most this many pages more than the first
#: page's ``count`` promised: the list may grow while it is read, but not page after page.
EXTRA_PAGES = 2
#: Page size asked of the list endpoint by a sweep: 1,000 servers are ~500 KB of JSON, and the
#: API may cap it lower (the answer's ``count`` and page length tell the real size).
SWEEP_PAGE_SIZE = 1000
#: A fleet gives up on an API it cannot reach at all (connections refused, DNS or TLS failing,
#: and no answer of any kind in between) after this long: a restart or a failover is over within
#: 20 s, and with the fleet's 8 s backoff cap the inputs then fail within about 30 s, not at the
#: fleet's deadline (15 minutes by default).
UNREACHABLE_AFTER = 20.0
#: A server a fleet finds busy moving *away* from the goal is waited for until it settles and
#: then asked again; this many rounds at most (each round is one wait and one request): a server
#: that someone else keeps changing is reported, not chased until the deadline.
MAX_SETTLE_ROUNDS = 3

# -- many processes sharing one Redis (``vpsorg_async.redis``) ----------------------------------
#: The shared pace's burst, in seconds of the rate (GCRA's tolerance): a process idle for a
#: moment may send this much of the budget at once (10 requests at 50/s). Kept in seconds so a
#: cut rate does not leave a burst sized for the old one; small, since a provider counts per second.
REDIS_BURST = 0.2
#: With Redis lost, each process paces itself at ``rate_limit / expected_processes``. Eight is
#: the Kubernetes Indexed Job of the issue that asked for this; a smaller cluster only runs slower
#: than it could while Redis is away (say ``expected_processes=`` to be exact).
REDIS_EXPECTED_PROCESSES = 8
#: 429s within this long after the one that cut the shared rate (or within its Retry-After, if
#: longer) answer requests sent before the cut: they are its echo and do not cut it again.
THROTTLE_WINDOW = 1.0
#: One Redis command (a turn, a lock) longer than this means Redis is lost: a LAN Redis answers
#: in a millisecond, and a pacer that waits longer holds every request of the client back.
REDIS_TIMEOUT = 2.0
#: While Redis is lost a process asks it again at most this often (one cheap failed connect).
REDIS_RETRY_INTERVAL = 1.0
#: The shared pace state expires after this long unused: a namespace no one runs is forgotten.
PACE_STATE_TTL = 3600.0
#: A create lock's lease. It is renewed every third of it while held, so only a holder that died
#: (or lost Redis) lets it lapse; then the name is free again this long after.
CREATE_LOCK_LEASE = 30.0
#: How a process waits for a create lock another holds: polls from the first to the last delay,
#: doubling (with jitter). A create decision takes a lookup and a create (a second or more).
CREATE_LOCK_POLL_FIRST = 0.02
CREATE_LOCK_POLL_MAX = 0.25

# -- the shared watcher on Redis (``vpsorg_async.redis``) -----------------------------------------
#: How often the leader of a namespace may sweep for the whole cluster, and how often every
#: process beats (renews or bids for the lease) per tick: the waiters' first poll interval, so a
#: board answers as fresh as one process polling alone would.
BOARD_TICK = 1.0
#: Beats per tick: a follower bids for a free lease this often, so a leader that died is
#: replaced within ``BOARD_LEASE_TICKS`` + 1/``BOARD_BEATS`` ticks (2 ticks).
BOARD_BEATS = 4
#: The leader's lease, in ticks: renewed every beat, it outlives a slow beat or two, yet
#: a SIGKILLed leader is replaced within 2 ticks.
BOARD_LEASE_TICKS = 1.5
#: A follower waits at most this many ticks in one call for a sweep fresher than its ask; past
#: it the server is Unseen this time (the watcher asks again at its next tick).
BOARD_WAIT_TICKS = 2.0
#: One Redis command may take this long before the board counts Redis as lost and falls back to
#: the process's own sweeps: loopback or LAN Redis answers in a millisecond.
BOARD_REDIS_TIMEOUT = 1.0

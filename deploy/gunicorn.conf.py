"""gunicorn's settings for the portal, behind Debian's nginx (deploy/nginx/).

Run from the repository with the address of the process on the command line:

    gunicorn --config deploy/gunicorn.conf.py --bind 127.0.0.1:8000 app:app

Why sync workers are enough: nginx receives each request in full, however slowly
the client sends it, before passing it on over loopback, and holds each reply in
memory while the client reads it. A worker is therefore busy only for as long as
the portal itself works on a request (parsing at loopback speed, cleaning the
files), never while a client on Tor trickles bytes. Never point a client, or Tor,
straight at these ports: a slow client would hold a worker for the whole timeout.
"""

#: Processes for this address (sync workers: one request at a time each). Four
#: suits two cores; cleaning is CPU work, so more cores, more workers. The command
#: line overrides it (the inbox's unit: ``--workers 2 --threads 4``, so that an
#: editor's slow download of a large file holds a thread, not a process).
workers = 4
#: A worker silent for this long is killed and replaced. Bodies arrive at loopback
#: speed through nginx, so this only has to cover cleaning the largest upload (a
#: 2 GiB video takes well under a minute on one core); keep nginx's
#: proxy_read_timeout at least as long.
timeout = 600
graceful_timeout = 30

#: At its default level gunicorn names the client's address whenever a request is
#: malformed ("Invalid request from ip=..."); errors only.
loglevel = "error"
#: Method, path without the query string, status, size and duration; never %(h)s.
accesslog = "-"
access_log_format = '"%(m)s %(U)s" %(s)s %(B)s %(M)sms'
errorlog = "-"

#: Only nginx on this host may say a request came over HTTPS (X-Forwarded-Proto),
#: which makes the app mark its cookie Secure and send Strict-Transport-Security.
forwarded_allow_ips = "127.0.0.1,::1"

#: Small request lines and headers: the portal's URLs and cookies are short.
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190

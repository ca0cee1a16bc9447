"""The progress bar that ``fastgmm fit`` draws on a terminal."""

import math
import threading
import time


class ProgressBar:
    """EM progress drawn on a terminal by the estimator's callback.

    Nothing is drawn for the first `delay` seconds, so short fits stay
    quiet; a fit still initialising (or compiling its kernels) by then
    shows a "starting" line, drawn by a timer thread. Then the callback
    redraws the bar at most every `interval` seconds. The bar fills with the
    iterations done out of ``n_init * max_iter``, an upper bound, since EM
    usually converges sooner. ``close`` erases it; call it before printing.
    """

    def __init__(self, stream, max_iter, n_init, delay=0.5, interval=0.1, width=30):
        self.stream = stream
        self.max_iter = max(1, max_iter)
        self.n_init = n_init
        self.delay = delay
        self.interval = interval
        self.width = width
        self.start = time.perf_counter()
        self.last_draw = -math.inf
        self.init = 1
        self.previous_iter = 0
        self.drawn_width = 0
        self.lock = threading.Lock()
        self.closed = False
        self.timer = threading.Timer(delay, self._draw_starting)
        self.timer.daemon = True
        self.timer.start()

    def _draw(self, text):
        self.stream.write("\r" + text.ljust(self.drawn_width))
        self.stream.flush()
        self.drawn_width = len(text)

    def _draw_starting(self):
        with self.lock:
            if not self.closed and not self.drawn_width:
                self._draw(f"fitting [{'-' * self.width}] initialising...")

    def __call__(self, n_iter, lower_bound):
        if n_iter <= self.previous_iter:
            self.init += 1
        self.previous_iter = n_iter
        now = time.perf_counter()
        if now - self.start < self.delay or now - self.last_draw < self.interval:
            return False
        self.last_draw = now
        done = min(1.0, ((self.init - 1) * self.max_iter + n_iter) / (self.n_init * self.max_iter))
        filled = int(round(self.width * done))
        bar = "#" * filled + "-" * (self.width - filled)
        init = f" init {self.init}/{self.n_init}" if self.n_init > 1 else ""
        with self.lock:
            if not self.closed:
                self._draw(
                    f"fitting [{bar}]{init} iteration {n_iter}/{self.max_iter} "
                    f"lower bound {lower_bound:.6g}  {now - self.start:.1f} s"
                )
        return False

    def close(self):
        self.timer.cancel()
        with self.lock:
            self.closed = True
            if self.drawn_width:
                self.stream.write("\r" + " " * self.drawn_width + "\r")
                self.stream.flush()
                self.drawn_width = 0

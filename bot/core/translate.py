"""English -> Spanish machine translation through one long-lived Apertium process."""

from __future__ import annotations

import logging
import os
import re
import select
import shlex
import shutil
import signal
import subprocess
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from bot.core.text import words

log = logging.getLogger(__name__)

MODE = "eng-spa"
INSTALL_HINT = "apt-get install apertium-en-es"
# The pair's pipeline in null-flush mode (`apertium-wblank-mode -z` writes it from the .mode
# file): each text ends with "\n\0" and is answered at once. Not the `apertium` wrapper: its
# text deformatter and record-splitting gawk hold the first text back until more input arrives.
MODES_DIRS = (Path("/usr/share/apertium/modes"), Path("/usr/local/share/apertium/modes"))
DEFAULT_TIMEOUT = 1.0
# The first translation loads the dictionaries; give it longer than a question.
WARMUP_TIMEOUT = 10.0
# After this many faults in a row, pause the translator before the next try...
RESTARTS_BEFORE_PAUSE = 3
# ...for this long (doubling, capped) before trying the process again.
RETRY_SECONDS = (1.0, 60.0)
# The latest translations, kept: a question is translated for its words and again for its
# sentence vector (meaning.py), and members ask the same question more than once.
RECENT_TRANSLATIONS = 512
# The pipeline's first text. Apertium's tagger (3.8) tags differently once it has met a
# multiword unit ("a lot of"), and stays so: met at the start, every question is tagged alike
# whatever was asked before (0 of 200 English questions differ after a shuffled history,
# against 9 of 200 with "hello").
APERTIUM_WARMUP = "Hello, a lot of people are here."
WARMUP = "hello"  # any other translator's first text
# Apertium's stream format reserves \ ^ $ / < > { } [ ] @ * # + ~ |: send letters and
# ordinary punctuation only.
_UNSAFE = re.compile(r"[^\w\s.,;:?!¿¡'\"()-]|_")
# Apertium escapes the unknown-word mark of some words ("subject" -> "\\@Subject"): a mark.
_ESCAPED_MARK = re.compile(r"\\(?=[*@#])")
# Stream-format symbols or control characters in an answer: the pipeline lost its place.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")
_GARBAGE = re.compile(rf"[\^$<>{{}}\[\]\\]|{_CONTROL.pattern}")
# Apertium's dictionaries, as its pipeline names them: the English analyser (word -> lemmas and
# tags) and the bilingual dictionary (English lemma -> every Spanish translation).
_ANALYSER = re.compile(r"lt-proc\s+'?([^'\s|]+\.automorf\.bin)")
_BILINGUAL = re.compile(r"lt-proc\s+-b\s+'?([^'\s|]+\.autobil\.bin)")
# A lexical unit of Apertium's stream format ("^light/light<n><sg>/light<adj>$"), and its tags.
_UNIT = re.compile(r"\^((?:[^$\\]|\\.)*)\$")
_TAGS = re.compile(r"<[^>]*>")
# English words whose translations are kept between questions (then the store starts over).
SENSES_KEPT = 20_000


class Translator(Protocol):
    """Translates short texts; None means "not now" (the caller falls back)."""

    def translate(self, texts: Sequence[str]) -> list[str] | None:
        """Return one translation per text, or None when translation failed."""
        ...


@runtime_checkable
class SenseSource(Protocol):
    """Knows every translation of an English word, not only the one a translation chose."""

    def senses(self, words: Sequence[str]) -> dict[str, tuple[str, ...]] | None:
        """Return each word's Spanish translations (lemmas; () when none), or None on failure."""
        ...


class TranslatorFault(Exception):
    """The translator process died, hung or answered something that is not a translation."""


class ProcessTranslator:
    """One translator process kept alive; thread-safe; restarted after any fault.

    A new process answers a first text (`warmup`) while it loads its dictionaries; questions
    asked meanwhile fall back to the glossary (without killing it) until WARMUP_TIMEOUT has
    passed.
    """

    def __init__(
        self,
        command: Sequence[str],
        timeout: float = DEFAULT_TIMEOUT,
        *,
        raw: bool = False,
        quiet: bool = False,
        warmup: str = WARMUP,
    ) -> None:
        """Prepare a null-flush command line; the process starts on first use (or warm_up).

        `raw`: texts go and come back as they are, in Apertium's stream format (a dictionary
        lookup), not as sentences to clean and translations to check. `quiet`: faults are
        logged by the caller (`last_fault` says the latest), not here.
        """
        self.command = tuple(command)
        self.timeout = timeout
        self.raw = raw
        self.quiet = quiet
        self.warmup = warmup
        self.last_fault = ""
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._buf = b""  # output read but not yet used
        self._owed = 0  # answers the process still owes to texts nobody waits for any more
        self._loading_until = 0.0  # a new process may take this long for its first answer
        self._healthy = True
        self._closed = False
        self._retry_at = 0.0
        self._failures = 0
        self.faults = 0
        self._recent: OrderedDict[str, str] = OrderedDict()  # text -> translation (under _lock)
        # Processes started for the workers forked next (`start`): process, finalizer, loading
        # deadline; whether forks take them; how many children took one.
        self._spares: list[tuple[subprocess.Popen[bytes], weakref.finalize, float]] = []
        self._handing = False
        self._forks = 0
        _LIVE.add(self)

    @property
    def name(self) -> str:
        """Return the command line (for status and log lines)."""
        return " ".join(self.command)

    @property
    def pid(self) -> int | None:
        """Return the running process's id, if one runs."""
        return self._proc.pid if self._proc is not None else None

    def translate(self, texts: Sequence[str]) -> list[str] | None:
        """Translate texts in one round trip within the timeout; None means "use the glossary"."""
        if not texts:
            return []
        if not self._lock.acquire(timeout=self.timeout):
            return None  # another question holds the process past its own deadline
        try:
            missing = list(dict.fromkeys(t for t in texts if t not in self._recent))
            if missing:
                out = self._translate(missing, self.timeout)
                if out is None:
                    return None  # a failure is not kept: the next question asks again
                for text, translation in zip(missing, out, strict=True):
                    self._recent[text] = translation
            for text in texts:
                self._recent.move_to_end(text)
            found = [self._recent[t] for t in texts]
            while len(self._recent) > RECENT_TRANSLATIONS:
                self._recent.popitem(last=False)
            return found
        finally:
            self._lock.release()

    def forget(self) -> None:
        """Forget the kept translations (the benchmark times each question as new)."""
        with self._lock:
            self._recent.clear()

    def start(self, processes: int = 1) -> None:
        """Start the process now without waiting for it: it loads its dictionaries while the
        caller does something else (a stream of questions loads the knowledge meanwhile).

        With `processes` > 1, start that many, for as many workers forked next: the first
        child forked takes this one's process (this one starts another if it needs one), each
        next child one of the others; children forked after them start their own.
        """
        with self._lock:
            if self._closed:
                return
            if self._proc is None:
                self._start()
            while self._proc is not None and 1 + len(self._spares) < processes:
                try:
                    self._spares.append(self._spawn())
                except TranslatorFault:
                    break  # a worker left without one starts its own (and reports its fault)
            self._handing = processes > 1 and self._proc is not None

    def warm_up(self) -> bool:
        """Start the process and wait for its first answer; tell whether it answered."""
        with self._lock:
            return self._translate((), WARMUP_TIMEOUT) is not None

    def close(self) -> None:
        """Stop the process for good."""
        with self._lock:
            self._closed = True
            self._stop()
            for proc, finalizer, _until in self._spares:
                finalizer.detach()
                _kill(proc)
            self._spares, self._handing = [], False

    # -- the process --------------------------------------------------------------------------

    def _translate(self, texts: Sequence[str], timeout: float) -> list[str] | None:
        if self._closed:
            return None
        if self._proc is None and time.monotonic() >= self._retry_at:
            self._start()
        if self._proc is None:
            return None
        try:
            out = self._round_trip(texts, timeout)
        except TranslatorFault as exc:
            self._fault(str(exc))
            return None
        if out is None:
            return None  # still loading
        if not self._healthy and not self.quiet:
            log.info("English translation recovered (%s)", self.name)
        self._healthy, self._failures = True, 0
        return out

    def _start(self) -> None:
        self._buf, self._owed = b"", 0
        try:
            self._proc, self._finalizer, self._loading_until = self._spawn()
        except TranslatorFault as exc:
            self._proc = None
            self._fault(str(exc), restart=False)
            return
        self._owed = 1  # the warm-up's answer

    def _spawn(self) -> tuple[subprocess.Popen[bytes], weakref.finalize, float]:
        """Start a process and send it the warm-up text (it loads its dictionaries to answer
        it); return it, its finalizer and until when it may still be loading. TranslatorFault
        when it cannot start."""
        try:
            proc = subprocess.Popen(
                self.command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: a restart ends the pipeline
            )
        except OSError as exc:
            raise TranslatorFault(f"cannot start: {exc}") from exc
        finalizer = weakref.finalize(self, _kill, proc)
        try:
            self._send([self.warmup], proc)
        except TranslatorFault:
            finalizer()  # ends it
            raise
        return proc, finalizer, time.monotonic() + WARMUP_TIMEOUT

    def _after_fork(self) -> None:
        """In a forked child: the processes running are the parent's. The child takes the one
        `start` handed it, if any, else starts its own later; it never stops the others. Its
        lock may have been held by another thread."""
        self._lock = threading.Lock()
        taken = None
        if self._handing and self._forks == 0:
            taken = self._proc  # the first child takes the parent's own, as it stands
        elif self._handing:
            taken, _finalizer, until = self._spares[0]  # each next one a spare, which still
            self._buf, self._owed, self._loading_until = b"", 1, until  # owes its warm-up
        if self._proc is not None:
            self._finalizer.detach()
        for _proc, finalizer, _until in self._spares:
            finalizer.detach()
        self._spares, self._handing, self._forks = [], False, 0
        self._proc = taken  # dropping the others closes this child's copies of their pipes
        if taken is None:
            self._buf, self._owed, self._loading_until = b"", 0, 0.0
        else:
            self._finalizer = weakref.finalize(self, _kill, taken)

    def _after_fork_in_parent(self) -> None:
        """In the parent, after a fork: the child took the process `start` handed it."""
        if not self._handing:
            return
        if self._forks == 0:
            if self._proc is not None:
                self._finalizer.detach()  # the child stops it
            self._proc, self._buf, self._owed, self._loading_until = None, b"", 0, 0.0
        elif self._spares:
            self._spares.pop(0)[1].detach()
        self._forks += 1
        self._handing = bool(self._spares)

    def _stop(self) -> None:
        if self._proc is not None:
            self._finalizer.detach()
            _kill(self._proc)
            self._proc = None

    def _fault(self, reason: str, *, restart: bool = True) -> None:
        """Log the first fault of a run of faults, then restart (or wait before retrying)."""
        self.faults += 1
        self._failures += 1
        self.last_fault = f"{self.name}: {reason}"
        if self._healthy and not self.quiet:
            log.warning(
                "English translation failed (%s: %s); answering from the glossary until "
                "the translator works again",
                self.name,
                reason,
            )
        else:
            log.debug("still failing: %s", self.last_fault)
        self._healthy = False
        self._stop()
        if restart and self._failures < RESTARTS_BEFORE_PAUSE:
            self._start()
        else:
            # A translator that keeps failing would cost every English question its timeout.
            low, high = RETRY_SECONDS
            self._retry_at = time.monotonic() + min(high, low * 2 ** (self._failures - 1))

    def _send(self, texts: Sequence[str], proc: subprocess.Popen[bytes] | None = None) -> list[str]:
        proc = proc or self._proc
        assert proc is not None and proc.stdin is not None
        if self.raw:
            clean = [t.replace("\0", " ") for t in texts]
        else:
            clean = [" ".join(_UNSAFE.sub(" ", t).split()) for t in texts]
        try:
            proc.stdin.write(b"".join(t.encode("utf-8") + b"\n\0" for t in clean))
            proc.stdin.flush()
        except OSError as exc:
            raise TranslatorFault(f"the process is gone ({exc})") from exc
        return clean

    def _round_trip(self, texts: Sequence[str], timeout: float) -> list[str] | None:
        """Send texts and read their answers; None when a new process is still loading."""
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        deadline = time.monotonic() + timeout
        clean = self._send(texts) if texts else []
        need = self._owed + len(clean)
        fd = proc.stdout.fileno()
        while self._buf.count(b"\0") < need:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                if self._buf.count(b"\0") == 0 and time.monotonic() < self._loading_until:
                    self._owed = need  # still loading: the answers will be skipped later
                    return None
                raise TranslatorFault(f"no answer within {timeout:g} s")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise TranslatorFault(f"the process exited (code {proc.poll()})")
            self._buf += chunk
        *answers, rest = self._buf.split(b"\0")
        if rest or len(answers) != need:
            raise TranslatorFault("more output than texts")
        self._buf, self._owed, self._loading_until = b"", 0, 0.0
        try:
            out = [a.decode("utf-8").strip() for a in answers[need - len(clean) :]]
        except UnicodeDecodeError as exc:
            raise TranslatorFault("output is not UTF-8") from exc
        if self.raw:  # a word's analyses are longer than the word, never 50 times longer
            garbage, times, slack = _CONTROL, 50, 200
        else:
            out = [_ESCAPED_MARK.sub("", t) for t in out]
            garbage, times, slack = _GARBAGE, 3, 40
        bad = [
            t
            for s, t in zip(clean, out, strict=True)
            if garbage.search(t) or len(t) > times * len(s) + slack
        ]
        if bad:
            raise TranslatorFault(f"unexpected output {bad[0][:60]!r}")
        return out


class ApertiumTranslator(ProcessTranslator):
    """Apertium's eng-spa pipeline, and each English word's translations in its dictionary.

    A translation picks one sense of a word ("light": "ligero"); the article may use another
    ("luz"). Two more null-flush processes look words up: the English analyser (every reading:
    noun, adjective, verb) and the bilingual dictionary (every Spanish lemma of each reading).
    """

    def __init__(
        self,
        command: Sequence[str],
        timeout: float,
        analyser: Sequence[str],
        bilingual: Sequence[str],
        warmup: str = APERTIUM_WARMUP,
    ) -> None:
        """Prepare the pipeline and the two dictionary processes (null-flush command lines,
        started on first use). Each lookup may take a quarter of the translation's timeout: a
        question waits at most 1.5 times TRANSLATOR_TIMEOUT for its translation and senses."""
        super().__init__(command, timeout, warmup=warmup)
        self._analyser = ProcessTranslator(analyser, timeout / 4, raw=True, quiet=True)
        self._bilingual = ProcessTranslator(bilingual, timeout / 4, raw=True, quiet=True)
        self._senses: dict[str, tuple[str, ...]] = {}
        self._looking_up = True  # the lookups worked last time (a failure is logged once)

    def senses(self, words: Sequence[str]) -> dict[str, tuple[str, ...]] | None:
        """Return the Spanish lemmas of each English word (letters only); None on failure."""
        asked = [w for w in dict.fromkeys(words) if w.isalpha()]
        new = [w for w in asked if w not in self._senses]
        if new:
            lookups = (self._analyser, self._bilingual)
            faults = [p.faults for p in lookups]
            found = self._look_up(new)
            if found is None:
                failed = [p for p, n in zip(lookups, faults, strict=True) if p.faults > n]
                if not failed:
                    return None  # a new process still loading its dictionary: not a fault
                if self._looking_up:
                    log.warning(
                        "Apertium's dictionary lookup failed (%s); translations keep the one "
                        "sense they chose until it works again",
                        failed[0].last_fault,
                    )
                self._looking_up = False
                return None
            if not self._looking_up:
                log.info("Apertium's dictionary lookup recovered")
            self._looking_up = True
            if len(self._senses) + len(found) > SENSES_KEPT:
                self._senses = {}
            self._senses.update(found)
        return {w: self._senses.get(w, ()) for w in asked}

    def _look_up(self, words: list[str]) -> dict[str, tuple[str, ...]] | None:
        analysed = self._analyser.translate(words)
        if analysed is None:
            return None
        readings = [_readings(a) for a in analysed]
        asked = [i for i, r in enumerate(readings) if r]
        found: dict[str, tuple[str, ...]] = dict.fromkeys(words, ())
        if not asked:
            return found
        texts = [" ".join(f"^{r}$" for r in readings[i]) for i in asked]
        translated = self._bilingual.translate(texts)
        if translated is None:
            return None
        for i, text in zip(asked, translated, strict=True):
            found[words[i]] = _lemmas(text)
        return found

    def start(self, processes: int = 1) -> None:
        """Start the pipeline and the dictionaries without waiting for them (`processes` of
        each: see ProcessTranslator.start)."""
        self._analyser.start(processes)
        self._bilingual.start(processes)
        super().start(processes)

    def warm_up(self) -> bool:
        """Start the pipeline and the dictionaries; tell whether the pipeline answered."""
        self._analyser.warm_up()
        self._bilingual.warm_up()
        return super().warm_up()

    def close(self) -> None:
        """Stop the pipeline and the dictionaries for good."""
        self._analyser.close()
        self._bilingual.close()
        super().close()


def _outputs(stream: str) -> list[str]:
    """Return what each lexical unit of an Apertium stream gives for its source, in order
    ("^light/light<n><sg>/light<adj>$": "light<n><sg>", "light<adj>")."""
    return [out for unit in _UNIT.findall(stream) for out in unit.split("/")[1:] if out]


def _readings(analysed: str) -> list[str]:
    """Return a word's readings in the analyser's answer ("light<n><sg>", "light<adj>"), the
    parts of a joined reading apart ("can<vaux>+not<adv>"), unknown words left out."""
    return [
        part
        for reading in _outputs(analysed)
        if not reading.startswith("*") and "#" not in reading
        for part in reading.split("+")
        if part
    ]


def _lemmas(translated: str) -> tuple[str, ...]:
    """Return the Spanish lemmas of the bilingual dictionary's answer, each once, in order."""
    lemmas = (
        " ".join(_TAGS.sub("", target).replace("#", " ").split())
        for target in _outputs(translated)
        if not target.startswith("@")
    )
    return tuple(dict.fromkeys(m for m in lemmas if any(c.isalpha() for c in m)))


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """End a translator process group and reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            try:
                stream.close()
            except OSError:
                pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL does not fail
        pass


_LIVE: weakref.WeakSet[ProcessTranslator] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for translator in list(_LIVE):
        translator._after_fork()


def _after_fork_in_parent() -> None:
    for translator in list(_LIVE):
        translator._after_fork_in_parent()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child, after_in_parent=_after_fork_in_parent)


@dataclass(frozen=True)
class Translation:
    """The translator the engine uses (None: glossary only) and why, for status lines."""

    translator: ProcessTranslator | None
    reason: str

    @property
    def on(self) -> bool:
        """Tell whether English questions are machine-translated."""
        return self.translator is not None

    def line(self) -> str:
        """Return the one-line status for `check` and the startup log."""
        if self.translator is not None:
            return f"English translation: on ({self.reason})"
        return f"English translation: off, glossary only ({self.reason})"


def open_translation(
    setting: str = "auto",
    command: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    *,
    warm: bool = False,
    start: bool = False,
) -> Translation:
    """Prepare the translator a TRANSLATOR setting asks for: off, auto (Apertium if installed).

    With `warm`, start it now and check that it answers (the bot, `check`); with `start`,
    start it now without waiting (a stream of questions: it loads while the knowledge does);
    otherwise it starts with the first English question (one question, which may not need it).
    """
    if setting == "off":
        return Translation(None, "TRANSLATOR=off")
    if command:
        argv = shlex.split(command)
        name = f"TRANSLATOR_COMMAND={command}"
    elif (pipeline := apertium_pipeline()) is not None:
        argv, name = ["bash", "-c", pipeline, "apertium", "-g", ""], f"Apertium {MODE}"
    else:
        return Translation(None, f"Apertium not found; to add it: {INSTALL_HINT}")
    dictionaries = None if command else apertium_dictionaries()
    translator = (
        ApertiumTranslator(argv, timeout, *dictionaries)
        if dictionaries is not None
        else ProcessTranslator(argv, timeout, warmup=WARMUP if command else APERTIUM_WARMUP)
    )
    if warm and not translator.warm_up():
        translator.close()
        return Translation(None, f"{name} does not answer; for Apertium: {INSTALL_HINT}")
    if start:
        translator.start()
    return Translation(translator, name)


def apertium_pipeline(mode: str = MODE) -> str | None:
    """Return the null-flush shell pipeline of an installed Apertium mode, or None."""
    tool = shutil.which("apertium-wblank-mode")
    found = [d / f"{mode}.mode" for d in MODES_DIRS if (d / f"{mode}.mode").is_file()]
    if tool is None or not found:
        return None
    try:
        done = subprocess.run(
            [tool, "-z", str(found[0])], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    pipeline = done.stdout.strip()
    return pipeline if done.returncode == 0 and pipeline else None


def apertium_dictionaries(mode: str = MODE) -> tuple[list[str], list[str]] | None:
    """Return the null-flush command lines of the English analyser and the bilingual
    dictionary an installed mode uses."""
    found = [d / f"{mode}.mode" for d in MODES_DIRS if (d / f"{mode}.mode").is_file()]
    if shutil.which("lt-proc") is None or not found:
        return None
    try:
        text = found[0].read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    analyser, bilingual = _ANALYSER.search(text), _BILINGUAL.search(text)
    if analyser is None or bilingual is None:
        return None
    paths = Path(analyser.group(1)), Path(bilingual.group(1))
    if not all(p.is_file() for p in paths):
        return None
    return ["lt-proc", "-z", str(paths[0])], ["lt-proc", "-z", "-b", str(paths[1])]


def spanish_words(text: str) -> list[str]:
    """Return the folded words of an Apertium output, its unknown-word marks removed.

    Apertium marks a word it does not know with '*' and one missing from its bilingual
    dictionary with '@'; both stay as typed (names, rare words), '#' only flags a Spanish
    form it could not inflect.
    """
    text = re.sub(r"[*@#](?=\w)", "", text)
    # Spanish doubles letters for plurals: "EE.UU." is the word "EEUU", not "EE" and "UU".
    return words(_ABBREVIATION.sub(lambda m: m.group(0).replace(".", ""), text))


_ABBREVIATION = re.compile(r"\b(?:[A-Z]{2}\.){2,}")

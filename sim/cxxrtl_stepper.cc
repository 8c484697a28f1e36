// Clocking and waiting for the CXXRTL build of the test bench (see sim/cxxrtl.py).
//
// The generated design (class cxxrtl_design::p_bench, from the top module "bench") is compiled
// into the same library, ahead of this file. Python reads and writes signals and
// memories through the CXXRTL C API's objects (pointers into the model's state); this file adds
// only what must run every cycle to be fast: clock edges, waiting for a signal, waiting for an
// event, and sampling the waveform.
//
// State between calls: the last rising edge has been evaluated and everything has settled, as in
// an Amaranth testbench right after `await ctx.tick()`. Inputs written from Python are settled
// by `stepper_settle` before anything is sampled.

#include <cxxrtl/capi/cxxrtl_capi.h>
#include <cxxrtl/capi/cxxrtl_capi_vcd.h>
#include <cstdint>
#include <cstring>
#include <poll.h>

struct stepper {
	cxxrtl_design::p_bench *top;
	cxxrtl_handle handle;
	cxxrtl_object *clk;
	cxxrtl_vcd vcd;
	uint64_t edges;         // rising edges so far
	uint64_t period;        // in VCD time units
	bool stale;             // combinational values are those of the cycle before
	void *own_host;         // host memory's own storage while it is lent out, else null
};

static bool is_set(const cxxrtl_object *object) {
	size_t chunks = (object->width + 31) / 32;
	for (size_t i = 0; i < chunks; i++)
		if (object->curr[i])
			return true;
	return false;
}

static void sample(stepper *s, uint64_t time) {
	if (s->vcd)
		cxxrtl_vcd_sample(s->vcd, time);
}

// One full clock cycle. Nothing in the bench works on the falling edge, so it is only recorded
// (committing the clock low is what lets the next evaluation see a rising edge). An evaluation
// computes combinational values from the state before its commit, so after the rising edge they
// are one cycle stale until the design is evaluated once more; registers are current. Runs of
// cycles evaluate once per edge and refresh only at the end, which halves the cost; waveforms
// need every edge fresh.
static void refresh(stepper *s) {
	if (s->stale) {
		cxxrtl_step(s->handle);
		s->stale = false;
	}
}

// A delta cycle, as `cxxrtl_step` does it, but when the evaluation converged (the design has
// no combinational feedback) committed without looking for changes, which nothing here needs
// (see `commit_plain` in sim/cxxrtl.py). Returns the deltas run.
static size_t step(stepper *s) {
	if (s->top->eval()) {
		s->top->commit_plain();
		return 1;
	}
	if (!s->top->commit())
		return 1;
	return 1 + cxxrtl_step(s->handle);
}

static void rise(stepper *s) {
	if (s->vcd) {
		s->clk->next[0] = 0;
		cxxrtl_commit(s->handle);
		sample(s, s->edges * s->period + s->period / 2);
	} else {
		// Committing the clock low would compare every register for nothing: tell the design
		// the clock was low instead.
		s->top->prev_p_clk = cxxrtl::value<1> { 0u };
	}
	s->clk->next[0] = 1;
	// One delta means no combinational feedback, which is what makes the values exactly one
	// cycle stale; anything else is evaluated again at once.
	s->stale = step(s) == 1;
	if (!s->stale)
		cxxrtl_step(s->handle);
	s->edges++;
	if (s->vcd) {
		refresh(s);
		sample(s, s->edges * s->period);
	}
}

extern "C" {

stepper *stepper_create() {
	cxxrtl_design::p_bench *top = new cxxrtl_design::p_bench;
	cxxrtl_handle handle = cxxrtl_create(
		new _cxxrtl_toplevel { std::unique_ptr<cxxrtl::module>(top) });
	cxxrtl_object *clk = cxxrtl_get(handle, "clk");
	if (!clk)
		return nullptr;
	stepper *s = new stepper { top, handle, clk, nullptr, 0, 8, false, nullptr };
	// Reset released, the clock low, the state settled: ready for inputs to be set before the
	// first rising edge.
	cxxrtl_object *rst = cxxrtl_get(handle, "rst");
	if (rst)
		rst->next[0] = 0;
	clk->next[0] = 0;
	cxxrtl_step(handle);
	return s;
}

int stepper_host_storage(stepper *s, void *storage, uint64_t bytes);

void stepper_destroy(stepper *s) {
	stepper_host_storage(s, nullptr, 0);
	if (s->vcd)
		cxxrtl_vcd_destroy(s->vcd);
	cxxrtl_destroy(s->handle);
	delete s;
}

cxxrtl_handle stepper_handle(stepper *s) {
	return s->handle;
}

// Propagate inputs written from Python.
void stepper_settle(stepper *s) {
	cxxrtl_step(s->handle);
	s->stale = false;
}

// `n` clock cycles.
void stepper_cycles(stepper *s, uint64_t n) {
	while (n--)
		rise(s);
	refresh(s);
}

// Cycles until `signal` (64 bits at most) equals `value` before an edge, at most `limit`; returns
// the cycles run. The edge that samples it equal is not run. A register is current right after
// an edge; anything else needs the design evaluated once more to be seen.
uint64_t stepper_until(stepper *s, const cxxrtl_object *signal, uint64_t value, uint64_t limit) {
	bool registered = (signal->flags & (CXXRTL_DRIVEN_SYNC | CXXRTL_DRIVEN_COMB)) == CXXRTL_DRIVEN_SYNC;
	uint32_t low = (uint32_t)value, high = (uint32_t)(value >> 32);
	bool wide = signal->width > 32;
	uint64_t n = 0;
	refresh(s);
	while (!(signal->curr[0] == low && (!wide || signal->curr[1] == high)) && n < limit) {
		rise(s);
		if (!registered)
			refresh(s);
		n++;
	}
	refresh(s);
	return n;
}

// Cycles until the edge after the one where `rising` goes from clear to set or `counter`
// changes, or `limit` cycles and one more; returns the cycles run. `counter` must be a register.
uint64_t stepper_wait(stepper *s, const cxxrtl_object *rising, const cxxrtl_object *counter,
                      uint64_t limit) {
	size_t chunks = (counter->width + 31) / 32;
	uint32_t before[8];
	if (chunks > 8)
		return 0;
	refresh(s);
	memcpy(before, counter->curr, chunks * 4);
	bool was = is_set(rising);
	uint64_t n = 0;
	while (n < limit) {
		rise(s);
		n++;
		if (memcmp(before, counter->curr, chunks * 4) != 0)
			break;
		// Stale, this is the value before this edge: a rise seen now happened one edge ago.
		bool now = is_set(rising);
		if (now && !was) {
			if (!s->stale)
				break;
			refresh(s);
			return n;
		}
		was = now;
	}
	rise(s);
	refresh(s);
	return n + 1;
}

// Cycles until `counter` (a register) changes, INTx (`irq`) changes or one of the `nfds` file
// descriptors becomes readable (both looked at every `every` cycles), or `limit` cycles have run;
// returns the cycles run, and in `why` what stopped it: 1 INTx, 2 the counter, 4 a file
// descriptor, 0 the limit. This is how a model serves a virtual machine: it runs on its own
// between the accesses it answers, so that its timers and the wire go on.
uint64_t stepper_serve(stepper *s, const cxxrtl_object *irq, const cxxrtl_object *counter,
                       const int *fds, int nfds, uint64_t every, uint64_t limit, int *why) {
	struct pollfd polled[8];
	size_t chunks = (counter->width + 31) / 32;
	uint32_t before[8];
	*why = 0;
	if (chunks > 8 || nfds > 8 || every == 0)
		return 0;
	for (int i = 0; i < nfds; i++)
		polled[i] = { fds[i], POLLIN, 0 };
	refresh(s);
	memcpy(before, counter->curr, chunks * 4);
	bool level = is_set(irq);
	uint64_t n = 0;
	while (n < limit) {
		rise(s);
		n++;
		if (memcmp(before, counter->curr, chunks * 4) != 0) {
			*why = 2;
			break;
		}
		if (n % every != 0)
			continue;
		refresh(s);             // INTx may come from logic: look at this edge's value
		if (is_set(irq) != level) {
			*why = 1;
			break;
		}
		if (nfds && poll(polled, nfds, 0) > 0) {
			*why = 4;
			break;
		}
	}
	refresh(s);
	return n;
}

// Lend host memory storage that lives elsewhere (`bytes` of it, as many as the memory has),
// such as a virtual machine's RAM mapped into this process; null gives it its own back.
// Returns 0, or -1 if the size does not match. Python's view of the memory must follow.
int stepper_host_storage(stepper *s, void *storage, uint64_t bytes) {
#ifdef STEPPER_HOST_MEMORY
	auto &memory = s->top->STEPPER_HOST_MEMORY;
	typedef typename std::remove_reference<decltype(memory.data[0])>::type row;
	if (storage == nullptr) {
		if (s->own_host) {
			memory.data.release();
			memory.data.reset(static_cast<row *>(s->own_host));
			s->own_host = nullptr;
		}
		return 0;
	}
	if (bytes != memory.depth * sizeof(row))
		return -1;
	if (s->own_host)
		memory.data.release();
	else
		s->own_host = memory.data.release();
	memory.data.reset(static_cast<row *>(storage));
	return 0;
#else
	return storage ? -1 : 0;
#endif
}

// Waveforms: every object `filter` accepts, sampled on both clock edges from now on.
void stepper_vcd_start(stepper *s, uint64_t period_ns, void *data,
                       int (*filter)(void *, const char *, const cxxrtl_object *)) {
	s->period = period_ns;
	s->vcd = cxxrtl_vcd_create();
	cxxrtl_vcd_timescale(s->vcd, 1, "ns");
	if (filter)
		cxxrtl_vcd_add_from_if(s->vcd, s->handle, data, filter);
	else
		cxxrtl_vcd_add_from_without_memories(s->vcd, s->handle);
	sample(s, s->edges * s->period);
}

// The waveform text produced since the last call.
size_t stepper_vcd_read(stepper *s, const char **data) {
	size_t size = 0;
	*data = nullptr;
	if (s->vcd)
		cxxrtl_vcd_read(s->vcd, data, &size);
	return size;
}

}

// A Rust service for argv[1] steps of argv[2] ms, every allocation through Rust's standard
// library (Box, Vec, String, HashMap, VecDeque):
//   leak:     Registry::open_session (sessions registered and never closed)
//   not leak: Cache::put (a bounded cache: the oldest entry evicted), Request::handle (freed
//             at once)
// It ends with process::exit, as a killed service would: nothing is freed at exit.
use std::collections::{HashMap, VecDeque};
use std::{env, process, thread, time};

struct Session {
    id: u64,
    user: String,
    buffer: Vec<u8>,
}

struct Registry {
    sessions: HashMap<u64, Box<Session>>,
}

impl Registry {
    #[inline(never)]
    fn open_session(&mut self, id: u64) {
        let session = Box::new(Session { id, user: format!("user-{}", id), buffer: vec![0u8; 700] });
        self.sessions.insert(id, session);
    }
}

struct Cache {
    entries: HashMap<u64, Vec<u8>>,
    order: VecDeque<u64>,
    capacity: usize,
}

impl Cache {
    #[inline(never)]
    fn put(&mut self, key: u64) {
        if self.order.len() == self.capacity {
            let oldest = self.order.pop_front().unwrap();
            self.entries.remove(&oldest);
        }
        self.entries.insert(key, vec![1u8; 1024]);
        self.order.push_back(key);
    }
}

#[inline(never)]
fn handle_request(step: u64) -> usize {
    let body: Vec<u64> = (0..step % 64 + 16).collect();
    body.len()
}

fn main() {
    let args: Vec<String> = env::args().collect();
    let steps: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(40);
    let ms: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(25);
    let mut registry = Registry { sessions: HashMap::new() };
    let mut cache = Cache { entries: HashMap::new(), order: VecDeque::new(), capacity: 64 };
    let mut served = 0;
    for step in 0..steps {
        for i in 0..4 {
            registry.open_session(step * 4 + i);
        }
        for i in 0..8 {
            cache.put(step * 8 + i);
        }
        served += handle_request(step);
        thread::sleep(time::Duration::from_millis(ms));
    }
    let held: usize = registry.sessions.values().map(|s| s.user.len() + s.buffer.len() + s.id as usize % 2).sum();
    println!("{} sessions ({} bytes), {} cached, {} served", registry.sessions.len(), held, cache.entries.len(), served);
    process::exit(0);
}

//! The language model providers (qa-llm) as test generation's [`TestWriter`] (LLM mode):
//! one completion per turn, no tools, charged to one budget per generation.

use qa_llm::{Client, Message, Request, Spend};
use qa_testgen::python::llm::TestWriter;

pub struct LlmTestWriter {
    client: Client,
    /// The runtime the provider's HTTP calls run on; `write` is called from blocking code.
    runtime: tokio::runtime::Handle,
    spend: Spend,
}

impl LlmTestWriter {
    pub fn new(client: Client, runtime: tokio::runtime::Handle) -> LlmTestWriter {
        LlmTestWriter {
            client,
            runtime,
            spend: Spend::default(),
        }
    }
}

impl TestWriter for LlmTestWriter {
    fn write(&self, system: &str, turns: &[String]) -> Result<String, String> {
        let messages = turns
            .iter()
            .enumerate()
            .map(|(i, t)| {
                if i % 2 == 0 {
                    Message::user(t.clone())
                } else {
                    Message::assistant(t.clone(), Vec::new())
                }
            })
            .collect();
        let request = Request {
            system: system.to_owned(),
            messages,
            tools: Vec::new(),
            max_tokens: 4096,
            no_more_tools: true,
        };
        self.runtime
            .block_on(self.client.complete(&request, &self.spend))
            .map(|r| r.text)
            .map_err(|e| e.public_reason())
    }

    fn describe(&self) -> String {
        format!("{}:{}", self.client.config.kind, self.client.config.model)
    }
}

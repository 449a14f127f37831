pub fn main(_args: &[String]) -> crate::util::Result { Ok(()) }

" ftdetect/net.vim — .net files are dlc networks (editors/README.md)
autocmd BufRead,BufNewFile *.net setfiletype net
